#!/usr/bin/env python3
"""Validates what the FHIR endpoints answer against the FHIR models of the `fhir.resources`
package (R4B, whose CareTeam, Bundle, CapabilityStatement and OperationOutcome are R4's), on
a server over the demo town: the capability statement, a child's CareTeam read as a
practitioner and searched as a machine client (by id and by NHS number), and the outcome for
no such team. Usage: fhir_check.py BASE_URL PRACTITIONER_TOKEN CLIENT_TOKEN
"""
import json
import sys
import urllib.error
import urllib.request

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.careteam import CareTeam
from fhir.resources.R4B.operationoutcome import OperationOutcome

# Leo Harding, of the demo town.
LEO = "039e9a9f-55c6-552f-94ff-a3697085e6ab"


def get(base, path, token=None):
    req = urllib.request.Request(base + path)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req) as res:
            status, ctype, body = res.status, res.headers["content-type"], res.read()
    except urllib.error.HTTPError as err:
        status, ctype, body = err.code, err.headers["content-type"], err.read()
    if not ctype.startswith("application/fhir+json"):
        sys.exit(f"fhir: {path} answered {ctype}, not application/fhir+json")
    return status, json.loads(body)


def main():
    base, practitioner, client = sys.argv[1], sys.argv[2], sys.argv[3]
    checked = 0

    status, body = get(base, "/fhir/metadata")
    assert status == 200, (status, body)
    CapabilityStatement.parse_obj(body)
    checked += 1

    status, body = get(base, f"/fhir/CareTeam/{LEO}", practitioner)
    assert status == 200, (status, body)
    team = CareTeam.parse_obj(body)
    assert team.participant, "Leo's team has members"
    checked += 1

    for query in [f"subject={LEO}", f"subject=Patient/{LEO}"]:
        status, body = get(base, f"/fhir/CareTeam?{query}", client)
        assert status == 200, (status, body)
        bundle = Bundle.parse_obj(body)
        assert bundle.total == 1, body
        CareTeam.parse_obj(body["entry"][0]["resource"])
        checked += 1

    status, body = get(base, "/fhir/CareTeam?subject=https://fhir.nhs.uk/Id/nhs-number|9434765919", client)
    assert status == 200, (status, body)
    Bundle.parse_obj(body)
    checked += 1

    for path, token, want in [
        ("/fhir/CareTeam/00000000-0000-4000-8000-000000000000", practitioner, 404),
        ("/fhir/CareTeam?subject=nonsense", client, 400),
        (f"/fhir/CareTeam/{LEO}", None, 401),
    ]:
        status, body = get(base, path, token)
        assert status == want, (path, status, body)
        OperationOutcome.parse_obj(body)
        checked += 1
    print(f"fhir: {checked} answers are valid FHIR resources")


if __name__ == "__main__":
    main()
