-- retarget: queue a dead delivery that had a target again, for another opportunity; its PATCH is unchanged.
-- ARGV: prefix, id, now, new target (JSON), new target key. What it was goes to the history list.
local id = ARGV[2]
local now = ARGV[3]
local d = dkey(id)
local cur = redis.call('HMGET', d, 'status', 'attempts', 'last_error', 'history', 'target_key', 'target')
if cur[1] ~= 'dead' or not cur[5] or cur[5] == 'unresolved' then return 0 end
local entry = '{"replayed_at": ' .. now .. ', "status": "dead", "attempts": ' .. (cur[2] or '0') ..
              ', "last_error": ' .. (cur[3] or 'null') .. ', "retargeted_from": ' .. cur[6] ..
              ', "retargeted_to": ' .. ARGV[4] .. '}'
local history = '[' .. entry .. ']'
if cur[4] and cur[4] ~= '[]' then history = string.sub(cur[4], 1, -2) .. ', ' .. entry .. ']' end
redis.call('HSET', d, 'status', 'queued', 'attempts', '0', 'next_attempt_at', now, 'updated_at', now,
           'history', history, 'target', ARGV[4], 'target_key', ARGV[5])
redis.call('HDEL', d, 'last_error', 'lease_token', 'finish_token', 'opportunity_id')
move_status(id, 'dead', 'queued')
local m = member(id)
redis.call('ZREM', P .. 'dead', m)
redis.call('ZREM', P .. 'done', m)
redis.call('ZADD', P .. 'due', now, m)
return 1
