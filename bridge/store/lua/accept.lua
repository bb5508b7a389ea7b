-- accept: store one event and its deliveries, or report it as a duplicate or a conflict.
-- KEYS[1] the event hash. ARGV: prefix, token, now, body_hash, event member, n, n event field/value
-- strings, then per delivery: n, status, n field/value strings.
-- A retried call (same token: redis-py resent it after a lost reply) answers 'accepted' again.
local ekey = KEYS[1]
local token, now, body_hash = ARGV[2], ARGV[3], ARGV[4]
local seen = redis.call('HMGET', ekey, 'body_hash', 'accept_token')
if seen[1] then
  if seen[2] == token then return 'accepted' end
  if seen[1] == body_hash then
    redis.call('HINCRBY', ekey, 'duplicates', 1)
    return 'duplicate'
  end
  redis.call('HINCRBY', ekey, 'conflicts', 1)
  return 'conflict'
end
local i = 6
local n = tonumber(ARGV[i])
local event = {'body_hash', body_hash, 'accept_token', token, 'received_at', now, 'conflicts', '0',
               'duplicates', '0'}
local named = {}
for j = i + 1, i + n do event[#event + 1] = ARGV[j] end
for j = i + 1, i + n, 2 do named[ARGV[j]] = ARGV[j + 1] end
i = i + n + 1
-- The event is the first write: when Redis is out of memory it refuses that one, so nothing is half-written.
redis.call('HSET', ekey, unpack(event))
redis.call('ZADD', P .. 'events', now, ARGV[5])
local im = index_event(ekey, now, named['source'] or '', named['outcome'] or 'accepted', named['type'], ARGV[5])
local ids = {}
while i <= #ARGV do
  local count, status = tonumber(ARGV[i]), ARGV[i + 1]
  local id = sid(redis.call('INCR', P .. 'seq'))
  local fields = {'status', status, 'attempts', '0', 'next_attempt_at', now, 'received_at', now, 'updated_at', now,
                  'imember', im}
  local target
  for j = i + 2, i + 1 + count do
    fields[#fields + 1] = ARGV[j]
    if ARGV[j] == 'target_key' and (j - i) % 2 == 0 then target = ARGV[j + 1] end
  end
  redis.call('HSET', dkey(id), unpack(fields))
  index_target(id, target)
  local m = member(id)
  redis.call('ZADD', P .. 'all', id, m)
  move_status(id, nil, status)
  if status == 'dead' then redis.call('ZADD', P .. 'dead', now, m) else redis.call('ZADD', P .. 'due', now, m) end
  ids[#ids + 1] = id
  i = i + 2 + count
end
redis.call('HSET', ekey, 'deliveries', table.concat(ids, ','))
return 'accepted'
