-- POST the lines of BENCH_BODIES (one JSON body each, written by the scenario) to BENCH_PATH, one
-- request per line, in file order. The order is the scenario's: bench/leads.py places each
-- duplicate 49 lines after the lead it repeats. Past the last line it starts again at the first;
-- the scenario sizes the file so that a run never gets there, and checks it did not.
local bodies = {}
local n = 0

bench_init = function()
  for line in io.lines(os.getenv("BENCH_BODIES")) do
    bodies[#bodies + 1] = line
  end
end

request = function()
  n = n + 1
  return wrk.format("POST", bench_env.path, bench_headers, bodies[(n - 1) % #bodies + 1])
end
