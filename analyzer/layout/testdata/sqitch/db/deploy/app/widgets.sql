CREATE INDEX CONCURRENTLY widgets_name ON app.widgets (name);
