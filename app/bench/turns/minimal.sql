-- The least SQL one answered message needs, on Parley's own schema: the
-- yardstick of Parley's turns (go run ./app/bench/turns runs both side by
-- side). Per transaction: authenticate the API secret, read the conversation
-- and its last 100 messages, one search of the bot's dataset, store the user
-- message, then the context and the answer in one transaction.
--
-- Variables (pgbench -D, quoted literals): hash, the API secret's hash; ds,
-- the dataset's id.
-- bench_turn_convs (n, id) gives each client (:client_id) its conversation.
\set q random(1, 4)
SELECT quote_literal(id) AS conv FROM bench_turn_convs WHERE n = :client_id \gset
SELECT id, name, revoked_at FROM api_secrets WHERE hash = :hash AND revoked_at IS NULL;
SELECT * FROM conversations WHERE id = :conv;
SELECT * FROM (SELECT id, type, text, meta, turn_id, created_at FROM messages WHERE conversation_id = :conv ORDER BY id DESC LIMIT 100) AS m ORDER BY id;
SELECT r.id, r.text, r.source, ts_rank_cd(r.search, query.q, 1) AS rank
  FROM dataset_records AS r,
       (SELECT replace(plainto_tsquery('english', (ARRAY['Can I get a refund on my annual plan?', 'How do I reset my password?', 'What is the file size limit for uploads?', 'How long do you keep files in the trash?'])[:q])::text, '&', '|')::tsquery AS q) AS query
  WHERE r.dataset_id = :ds AND r.search @@ query.q
  ORDER BY rank DESC, r.id LIMIT 40;
INSERT INTO messages (id, conversation_id, type, text, meta, created_at, updated_at)
  VALUES (gen_random_uuid(), :conv, 'user', 'Can I get a refund on my annual plan?', '{}', now(), now());
BEGIN;
INSERT INTO messages (id, conversation_id, type, text, meta, created_at, updated_at)
  VALUES (gen_random_uuid(), :conv, 'context', 'Refunds are available within 30 days of purchase.', '{"records": 1}', now(), now());
INSERT INTO messages (id, conversation_id, type, text, meta, created_at, updated_at)
  VALUES (gen_random_uuid(), :conv, 'bot', 'Refunds are available within 30 days of purchase.', '{"model": "local"}', now(), now());
COMMIT;
