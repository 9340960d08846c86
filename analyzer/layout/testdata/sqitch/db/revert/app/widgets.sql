DROP INDEX CONCURRENTLY app.widgets_name;
