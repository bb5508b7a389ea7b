-- finish: complete | retry_at | dead | supersede one leased delivery.
-- ARGV: prefix, id, token, now, status, give_back (0/1), opportunity id or '', attempt JSON or '',
--       attempts kept, hold_until or '', n, n field/value strings to set, n, n fields to delete,
--       then applied field/occurred_at pairs.
-- hold_until: no delivery of this target is claimed before then (a request whose result is unknown).
-- Returns 1 when done (or already done by this same token: a retried call), 0 when the lease is lost.
local id, token, now, status = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local d = dkey(id)
local cur = redis.call('HMGET', d, 'status', 'lease_token', 'finish_token', 'target_key')
if not cur[1] then return 0 end
if cur[1] == status and cur[3] == token then return 1 end
if cur[1] ~= 'delivering' or cur[2] ~= token then return 0 end
local i = 11
local n = tonumber(ARGV[i])
local fields = {'status', status, 'finish_token', token, 'updated_at', now}
for j = i + 1, i + n do fields[#fields + 1] = ARGV[j] end
i = i + n + 1
redis.call('HSET', d, unpack(fields))
local clear = {'lease_token'}
n = tonumber(ARGV[i])
for j = i + 1, i + n do clear[#clear + 1] = ARGV[j] end
i = i + n + 1
redis.call('HDEL', d, unpack(clear))
if ARGV[6] == '1' then redis.call('HINCRBY', d, 'attempts', -1) end
move_status(id, 'delivering', status)
local m = member(id)
if status == 'retrying' then
  redis.call('ZADD', P .. 'due', redis.call('HGET', d, 'next_attempt_at'), m)
else
  redis.call('ZREM', P .. 'due', m)
  redis.call('ZADD', P .. (status == 'dead' and 'dead' or 'done'), now, m)
end
release_flight(id, cur[4])
if ARGV[8] ~= '' then
  redis.call('RPUSH', P .. 'att:' .. id, ARGV[8])
  redis.call('LTRIM', P .. 'att:' .. id, -tonumber(ARGV[9]), -1)
end
if ARGV[10] ~= '' and cur[4] then
  local held_until = redis.call('HGET', P .. 'hold', cur[4])
  if not held_until or tonumber(held_until) < tonumber(ARGV[10]) then
    redis.call('HSET', P .. 'hold', cur[4], ARGV[10])
  end
end
local opportunity = ARGV[7]
if opportunity ~= '' then index_target(id, 'id:' .. opportunity) end
if opportunity ~= '' and i < #ARGV then
  local fkey = P .. 'f:' .. opportunity
  while i < #ARGV do
    local field, when = ARGV[i], ARGV[i + 1]
    local stored = redis.call('HGET', fkey, field)
    if not stored or when > stored then redis.call('HSET', fkey, field, when) end
    i = i + 2
  end
  redis.call('ZADD', P .. 'ftouch', now, opportunity)
end
return 1
