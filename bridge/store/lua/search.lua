-- search: events of one index whose id or stored body holds a text (case-insensitive, ASCII), newest
-- first, looking at no more than a budget of events; read-only, so the bodies never cross the network.
-- ARGV: prefix, index key, top and bottom scores (ZRANGE BYSCORE bounds), cursor received_at and seq
-- ('' '' for none), budget, how many matches are wanted, the text in lower case.
-- Returns {stop, last imember, last received_at, imember, received_at, …}: stop is 'end' (the index
-- was read to its end), 'budget' (the budget ran out at the last event) or 'enough'.
local key, top, bottom = ARGV[2], ARGV[3], ARGV[4]
local c_at, c_seq = tonumber(ARGV[5]), tonumber(ARGV[6])
local budget, want, needle = tonumber(ARGV[7]), tonumber(ARGV[8]), ARGV[9]
local out, examined, offset = {'end', '', ''}, 0, 0
while true do
  local batch = redis.call('ZRANGE', key, top, bottom, 'BYSCORE', 'REV', 'LIMIT', offset, 500, 'WITHSCORES')
  for i = 1, #batch, 2 do
    local im, at = batch[i], batch[i + 1]
    local score, seq = tonumber(at), tonumber(string.sub(im, 1, 16))
    if not c_at or score < c_at or (score == c_at and seq < c_seq) then
      examined = examined + 1
      out[2], out[3] = im, at
      local e = redis.call('HMGET', P .. 'e:' .. string.sub(im, 17), 'event_id', 'data')
      if e[1] and (string.find(string.lower(e[1]), needle, 1, true)
                   or (e[2] and string.find(string.lower(e[2]), needle, 1, true))) then
        out[#out + 1] = im
        out[#out + 1] = at
        if (#out - 3) / 2 >= want then out[1] = 'enough' return out end
      end
      if examined >= budget then out[1] = 'budget' return out end
    end
  end
  if #batch < 1000 then return out end
  offset = offset + 500
end
