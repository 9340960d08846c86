-- A view on a dropped column and a foreign key to a dropped table go with CASCADE.
ALTER TABLE users DROP COLUMN age CASCADE;
DROP TABLE coupons;
ALTER TABLE users ADD COLUMN birth_year smallint;

CREATE TABLE tags (id int PRIMARY KEY, label text);
CREATE TABLE item_tags (tag_id int REFERENCES tags, sku text);
DROP TABLE tags CASCADE;
