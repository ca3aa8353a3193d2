-- Up Migration

-- Every webhook for a group with no open incident looks up the group's resolved incidents (their resolved
-- alerts must not reopen it on a late replay). The unique index on group_key covers open incidents only, so
-- that look-up scanned the whole table: about 5 ms at 20,000 incidents, growing with every incident kept.
create index incidents_group_key_idx on incidents (group_key) where group_key is not null;

-- Down Migration
drop index incidents_group_key_idx;
