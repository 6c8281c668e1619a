-- What a streamed turn must ask its database before it can call the model,
-- one statement after another as one client would: authenticate the API
-- secret, read the conversation, store the user message (a durable commit:
-- an accepted message is never lost), then its history and one search of
-- the bot's dataset. Run at one client, its latency is the floor under the
-- time a turn adds to the model's first token, whatever the server does
-- between statements (go run ./app/bench/turns reports it beside Parley's).
--
-- Variables (pgbench -D, quoted literals): hash, the API secret's hash; ds,
-- the dataset's id; conv, the conversation's id.
SELECT id, name, revoked_at FROM api_secrets WHERE hash = :hash AND revoked_at IS NULL;
SELECT * FROM conversations WHERE id = :conv;
INSERT INTO messages (id, conversation_id, type, text, meta, created_at, updated_at)
  VALUES (gen_random_uuid(), :conv, 'user', 'How do I reset my password?', '{}', now(), now());
SELECT * FROM (SELECT id, type, text, meta, turn_id, created_at FROM messages WHERE conversation_id = :conv ORDER BY id DESC LIMIT 100) AS m ORDER BY id;
SELECT r.id, r.text, r.source, ts_rank_cd(r.search, query.q, 1) AS rank
  FROM dataset_records AS r,
       (SELECT replace(plainto_tsquery('english', 'How do I reset my password?')::text, '&', '|')::tsquery AS q) AS query
  WHERE r.dataset_id = :ds AND r.search @@ query.q
  ORDER BY rank DESC, r.id LIMIT 40;
