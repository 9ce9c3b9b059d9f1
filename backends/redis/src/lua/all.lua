-- get_tokens when other clients keep writing: KEYS[1] the namespace prefix. Returns every
-- token's hash as a flat field/value list, read in one script, so that no save or delete lands
-- between two of the reads.
local p = KEYS[1]
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', p .. ':ids')) do
  local hash = redis.call('HGETALL', p .. ':t:' .. id)
  if #hash > 0 then out[#out + 1] = hash end
end
return out
