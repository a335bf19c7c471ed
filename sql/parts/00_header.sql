-- vecdb 0.1.0: the extension script is assembled from sql/parts/*.sql in name order.
-- Every object is created in the extension's schema (@extschema@); bodies refer to
-- other objects schema-qualified so a hostile search_path cannot redirect them.
\echo Use "CREATE EXTENSION vecdb" to load this file. \quit
