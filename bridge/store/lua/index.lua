-- index: put events stored before the console's indexes existed (no imember) into them, a batch per call:
-- ev:all, ev:src, ev:out, and dopp for their deliveries. ARGV: prefix, offset, batch.
-- Returns {scanned, indexed}; an event already indexed (by accept, or another process) is left alone.
local names = redis.call('ZRANGE', P .. 'events', tonumber(ARGV[2]), tonumber(ARGV[2]) + tonumber(ARGV[3]) - 1,
                         'WITHSCORES')
local indexed = 0
for k = 1, #names, 2 do
  local name, received = names[k], names[k + 1]
  local ekey = P .. 'e:' .. name
  local ev = redis.call('HMGET', ekey, 'imember', 'source', 'outcome', 'deliveries')
  if not ev[1] and ev[2] then
    index_event(ekey, received, ev[2], ev[3], name)
    for id in string.gmatch(ev[4] or '', '[^,]+') do
      local d = redis.call('HMGET', dkey(id), 'target_key', 'opportunity_id')
      index_target(id, d[1])
      if d[2] then index_target(id, 'id:' .. d[2]) end
    end
    indexed = indexed + 1
  end
end
return {#names / 2, indexed}
