-- Up Migration

-- Which firing alerts (fingerprint and startsAt) of a delivery are already over: the same occurrence, or a
-- later one, resolved in the group's incidents, or in a delivery that found no incident (alert_resolutions).
-- A late duplicate from another Alertmanager must not reopen what is over.
--
-- A function, not an expression in the webhook's statements: written inline, it made the webhook's first
-- statement take 0.6-0.7 ms to plan against 0.15 ms to run, and PostgreSQL planned it afresh on most calls
-- (its custom plans looked cheaper than the generic one). PL/pgSQL keeps one generic plan per session.
-- Each probe runs only when its table can answer: the guards are uncorrelated, so PostgreSQL runs each once
-- per call, and a new group costs two index probes per alert instead of three.
create function incidents_resolved_before(p_group_key text, p_firing jsonb) returns text[]
  language plpgsql stable
  set search_path = pg_catalog, public
  set plan_cache_mode = force_generic_plan as $$
begin
  return array(
    select x.fingerprint from jsonb_to_recordset(p_firing) as x(fingerprint text, "startsAt" timestamptz)
    where ((select exists (select 1 from public.incidents r
              where r.group_key = p_group_key and r.status = 'resolved'))
            and exists (select 1 from public.incidents r join public.incident_alerts a on a.incident_id = r.id
              where r.group_key = p_group_key and a.status = 'resolved'
                and a.fingerprint = x.fingerprint and a.starts_at >= x."startsAt"))
       or ((select exists (select 1 from public.alert_resolutions))
            and exists (select 1 from public.alert_resolutions z
              where z.fingerprint = x.fingerprint and z.starts_at >= x."startsAt")));
end $$;

-- Down Migration
drop function incidents_resolved_before(text, jsonb);
