-- replay: queue dead/delivered/superseded/retrying deliveries again, due now, attempts 0.
-- ARGV: prefix, now, ids... The previous status, attempts and error go to the history list.
local now = ARGV[2]
local count = 0
for k = 3, #ARGV do
  local id = ARGV[k]
  local d = dkey(id)
  local cur = redis.call('HMGET', d, 'status', 'attempts', 'last_error', 'history', 'target_key')
  local s = cur[1]
  if (s == 'dead' or s == 'delivered' or s == 'superseded' or s == 'retrying') and cur[5] ~= 'unresolved' then
    local entry = '{"replayed_at": ' .. now .. ', "status": "' .. s .. '", "attempts": ' .. (cur[2] or '0') ..
                  ', "last_error": ' .. (cur[3] or 'null') .. '}'
    local history = '[' .. entry .. ']'
    if cur[4] and cur[4] ~= '[]' then history = string.sub(cur[4], 1, -2) .. ', ' .. entry .. ']' end
    redis.call('HSET', d, 'status', 'queued', 'attempts', '0', 'next_attempt_at', now, 'updated_at', now,
               'history', history)
    redis.call('HDEL', d, 'last_error', 'lease_token', 'finish_token')
    move_status(id, s, 'queued')
    local m = member(id)
    redis.call('ZREM', P .. 'done', m)
    redis.call('ZREM', P .. 'dead', m)
    redis.call('ZADD', P .. 'due', now, m)
    count = count + 1
  end
end
return count
