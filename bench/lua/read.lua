-- GET BENCH_PATH with {id} replaced by a random one of the first BENCH_ID_COUNT ids in BENCH_IDS.
local ids = {}
local prefix, suffix

bench_init = function()
  local n = 0
  for line in io.lines(bench_env.ids) do
    n = n + 1
    if bench_env.id_count > 0 and n > bench_env.id_count then break end
    ids[n] = line
  end
  prefix, suffix = bench_env.path:match("^(.*){id}(.*)$")
end

request = function()
  return wrk.format("GET", prefix .. ids[math.random(#ids)] .. suffix, bench_headers)
end
