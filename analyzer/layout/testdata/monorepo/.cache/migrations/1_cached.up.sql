CREATE TABLE cached (id int);
