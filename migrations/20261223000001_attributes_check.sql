-- The service allows 1 KiB of attributes as compact JSON; jsonb's own text
-- form writes numbers in full (1e300 is 301 digits), so the 4 KiB backstop of
-- the greetings migration could refuse attributes the service had accepted,
-- with an unexplained constraint violation. The backstop only has to stop
-- what bypasses the service; 64 KiB of jsonb text is far above any 1 KiB
-- compact object.
ALTER TABLE routes DROP CONSTRAINT routes_attributes_check;
ALTER TABLE routes ADD CONSTRAINT routes_attributes_check
    CHECK (attributes IS NULL OR (jsonb_typeof(attributes) = 'object' AND octet_length(attributes::text) <= 65536));
