CREATE TABLE fixture (id int);
