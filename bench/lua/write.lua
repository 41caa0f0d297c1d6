-- POST a new person to BENCH_PATH, each with its own name and e-mail address. With
-- BENCH_RECORD set, every 201 is written down as "<id> <wall-clock seconds>" (one file per thread).
local n = 0
local out = nil

bench_init = function()
  if bench_env.record then
    out = io.open(string.format("%s/created-%d.txt", bench_env.record, bench_tid or 0), "w")
  end
end

request = function()
  n = n + 1
  local tag = string.format("t%dn%d", bench_tid or 0, n)
  local body = string.format(
    '{"kind":"person","given_name":"Bench","family_name":"Writer %s","country":"DE",' ..
    '"emails":[{"address":"writer.%s@example.com"}],"phones":[{"number":"+4930%07d"}]}', tag, tag, n % 10000000)
  return wrk.format("POST", bench_env.path, bench_headers, body)
end

if bench_env.record then
  response = function(status, headers, body)
    if status == 201 and out then
      local id = body:match('"id":"([0-9a-f%-]+)"')
      if id then
        out:write(id, " ", string.format("%.6f", bench_clock(0)), "\n")
        out:flush()
      end
    end
  end
end
