DROP TABLE api_client_assertions;
DROP TABLE api_clients;
ALTER TABLE practitioners DROP CONSTRAINT practitioners_clients_have_no_password;
ALTER TABLE practitioners DROP COLUMN kind;
