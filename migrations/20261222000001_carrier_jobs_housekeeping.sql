-- carrier_jobs housekeeping (issue 19).
--
-- The job metrics read at every scrape (didroute_carrier_jobs_queued,
-- _oldest_age_seconds, _dead) look at unfinished jobs only; done jobs pile
-- up with every order and disconnect, so that read gets its own partial
-- index rather than a scan of the whole table.
CREATE INDEX carrier_jobs_unfinished ON carrier_jobs (carrier, created_at) WHERE state <> 'done';

-- The lifecycle job removes done jobs 7 days after they finished (dead jobs
-- stay until an operator looks at them): this finds them oldest first.
CREATE INDEX carrier_jobs_done ON carrier_jobs (updated_at) WHERE state = 'done';

-- the lifecycle job (operator role) deletes them; its policy already covers every row
GRANT DELETE ON carrier_jobs TO didroute_operator;
