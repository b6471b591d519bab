// The team screen as a Relay app writes it: a refetchable fragment on Child (refetched through
// `node(id:)`), the team, the lead, the tasks, and a timeline paged both ways.
import { graphql } from "react-relay";

export const teamScreenQuery = graphql`
  query TeamScreenQuery($childId: ID!) {
    child(id: $childId) {
      ...TeamScreen_child
      ...TeamScreenTimeline_child
    }
  }
`;

export const teamFragment = graphql`
  fragment TeamScreen_child on Child @refetchable(queryName: "TeamScreenRefetchQuery") {
    id
    givenName
    familyName
    dateOfBirth
    leadProfessional {
      id
    }
    team {
      id
      role
      sensitivity
      isLead
      lastContactAt
      nextContactAt
      practitioner {
        id
        displayName
        email
        phone
        mobile
        agency {
          id
          name
        }
      }
    }
    tasks(status: OPEN) {
      id
      title
      dueOn
      assignee {
        id
        displayName
      }
    }
  }
`;

export const timelineFragment = graphql`
  fragment TeamScreenTimeline_child on Child
  @refetchable(queryName: "TeamScreenTimelinePaginationQuery")
  @argumentDefinitions(
    first: { type: "Int", defaultValue: 20 }
    after: { type: "String" }
    last: { type: "Int" }
    before: { type: "String" }
  ) {
    timeline(first: $first, after: $after, last: $last, before: $before)
      @connection(key: "TeamScreen_timeline") {
      edges {
        node {
          at
          kind
          summary
        }
      }
    }
  }
`;
