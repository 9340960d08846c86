BEGIN;
CREATE TABLE app.users (id int);
COMMIT;
