"""What the profiles say about each figure below target: included in latest.md when that figure misses.

Written from py-spy profiles (``--gil``: only the thread holding the GIL) taken while
writing the bench, on the 2-core development machine shared with other work;
``crm bench <scenario> --profile`` records the customer service again and adds a
summary of that run's own profile. The shares quoted here are from those profiling
sessions, not from the run above.
"""

NOTES: dict[str, str] = {
    "read-throughput": """### unified-view read throughput (below 60% of the bare app)

The ratio swings between about 50% and 66% from run to run on this shared machine; the
bare app's own figure moves by a third between runs. Fixed after profiling the saturated
customer service (py-spy, GIL thread):
- request metrics were Starlette's `BaseHTTPMiddleware`, about a third of the samples; now plain ASGI;
- route matching was 15% of a read: the customer routes are now one flat router with the view first;
- PostgreSQL connections opened and closed per request (pool overflow), 10%: the pool now keeps 18;
- ORM session and entity load, then JSON parsing and model validation: now one prebuilt Core
  statement on a plain connection, returning the stored published document as is;
- two worker-thread hops for the auth dependencies: now on the event loop, with verified
  tokens remembered until they expire.
What remains and the bare app does not pay: dependency solving for auth and the
consistency header, the request-metrics middleware, and the relay and consumer threads
sharing the GIL. Both apps pay uvicorn, the connection pool's pre-ping and the query.""",
    "read-latency": """### unified-view p99 at 1,000 req/s

One uvicorn process per service (as `crm run` starts them) does not take 1,000 req/s of
view reads on this 2-core machine: the "held" figure shows the rate it really sustained.
Offered load above capacity queues, so p99 is queueing time, not the cost of a read. The
bare app does not hold 1,000 req/s here either. The limit is CPU per request (see the
throughput note) times one process; the architecture scales reads by running more
replicas of the customer service, which needs more cores than this machine has.""",
    "read-scaling": """### view read scaling

The primary-key lookup itself grows by one B-tree level between 10k and 1M rows. At a
fixed 1,000 req/s, p99 is dominated by queueing in the saturated Python process (see the
note above), so it swings with whatever else the machine does during that run.""",
    "write-throughput": """### customer create throughput

The bare app does one INSERT per request. Ours, per request: pydantic validation (e-mail,
E.164 phone, country), custom-field and classification rules (two lookups), the customer
row, its search keys and its `crm.customer.created.v1` outbox row in one transaction, a
duplicate lookup by e-mail and phone, the ETag and consistency headers. In the same process,
competing for the GIL, the relay publishes the event and the view consumer applies it
(view row, timeline entry, KPIs, a second outbox event for the view topic), which three
replica services then consume too. The profile has no single hot spot: SQLAlchemy
execution, psycopg waits and FastAPI's request machinery. 1,000 writes/s is above what one
Python process does on this machine. Next step: run the relay and consumers in a process of
their own, so the request path has a core to itself.""",
    "relay": """### outbox relay

Fixed after profiling the relay process (py-spy with idle samples, so waits show):
- kafka-python's CRC32C runs in C (the `crc32c` package): both figures roughly doubled;
- the relay claims plain columns and splices the stored JSON into the envelope, with no ORM
  entity or model per row (about a quarter less CPU per event);
- the claim was two thirds of the relay's wall time: the outbox index led with `published_at`,
  and the planner walked the primary key past every row already published, so each claim grew
  with the backlog drained so far (up to about 1 s for 500 rows on a 100k backlog). A partial
  index of the pending rows keeps every claim at 4-6 ms (migration `*_outbox_pending_index`,
  every service);
- pipelined: the relay claims and sends the next batch while a second thread waits for the
  previous batch's acknowledgements and marks it published;
- producers batch up to 128 KiB per partition (fewer sender wakeups and requests). The raw
  baseline uses the same `make_producer`, so its figure rose too (about 9,800 to 16,000-19,000
  events/s on this machine).
What remains per batch of 500 and the raw producer does not pay: the claim (`SELECT ... FOR
UPDATE`, with the data cast from jsonb to text), the `UPDATE ... published_at` and its commit,
and building each record in Python from the row. The events/s target of 5,000 is met; 70% of
a producer that does nothing but send is not, with the database work on the same two cores.""",
    "convergence": """### write-to-view convergence

At 500 writes/s offered, the customer service holds about 100-130 creates/s (see "writes/s
held"), so writes queue in the load generator and the figure is mostly that backlog; the row
at 50 writes/s shows the path without one. Fixed, in order of effect:
- the view builder read each event's view and facts with two or three queries, each first
  flushing the previous event's writes; it now reads a whole batch's views and facts up front
  and answers the handler from them. Under load, batches are large, so the builder keeps up
  (full runs at 50 writes/s: p50 2.5 s before, about 0.2 s after; at 500 writes/s p50 23.6 s
  before, about 2 s after);
- the lifecycle followers in sales, service desk and campaign pass over creates and updates by
  their `ce_type` header, with no transaction; the replica applies a version with one upsert;
- the relay's claim no longer grows with the backlog (see the relay note), and a consumer
  commit wakes the relay only when it appended events.
What remains at 50 writes/s, measured as CPU per write from /proc: about 20 ms in the customer
service (request, relay, view builder) and 7-9 ms in each replica service, on two cores shared
with PostgreSQL and Kafka; each hop (relay poll, consumer fetch, commit) queues behind the
others. Measured by hand on a quiet machine, one write at a time reaches the view in 30-40 ms.
Also found: kafka-python 3.0.12 can lose its group coordinator and spin a core outside its
group; consumers now start afresh after 30 s without partitions or coordinator. Next step:
the relay and consumers in a process of their own, and more processes where cores allow.""",
    "import": """### bulk import

`crm import` validates every row with the same rules as `POST /v1/customers` (pydantic
model, e-mail and E.164 checks, custom fields, links), normalises its search keys, builds its
document and a `crm.customer.created.v1` outbox event, and COPYs customers, keys and events
(services/customer/importing/service.py). Fixed after profiling (cProfile, 30k and 100k rows): half of the
time was one query per batch, which external ids already exist. PostgreSQL kept the empty
table's statistics while the import filled it, and scanned the whole growing table for that
lookup. The importer now runs ANALYZE each time it has doubled what it wrote (a handful of
times for any file): 1,195 to 3,265 rows/s on 30k rows. What remains, about evenly: the
per-row Python work (validation, normalising, classification, the event document) and
formatting about 50 values per customer for COPY (keys and outbox row included), plus the
writes themselves. The baseline COPYs only the rows. 70,000 rows/s is above what COPY
alone reaches into this indexed table on this machine. Next step: validate in a second
process while the first writes, at most about 2x on two cores.""",
    "replay": """### view rebuild from Kafka

`crm replay view` runs the live view handler for every event (view row, timeline entry,
KPI recomputation, group roll-ups), in transactions of 500 events, so that the rebuild is
the live view, hash for hash; the raw consumer only reads bytes. Fixed after profiling
(py-spy of the `crm replay` process): about 80% of its time went to database round trips,
two or three lookups per event, each first flushing the previous event's writes. A batch now
reads the views and facts its events touch in a few queries up front and answers the
handler's lookups from them, including "not there" for new customers (the live consumer
does the same under load): about 6x (202 to 1,183 events/s on the same 20k events, same
machine). Earlier: one processed-events query per batch, no flush per event, no outbox rows
while replaying. What remains is the ORM flushing three rows per event (view, timeline entry,
processed event), building and serialising each view document, and parsing each event: Python
work per event that a raw consume does not do. Next step: write a batch's rows with Core
executemany or COPY instead of the unit of work.""",
    "search": """### customer search

A filter kind above 100 ms at p99: the query plan is the first suspect. Name prefix and
exact keys use B-tree indexes (`name_search`, `customer_keys`); `name_contains` uses the
pg_trgm GIN index where the extension could be created (without it, a contains search
scans). `EXPLAIN ANALYZE` the statement the route logs at debug level. Seen in earlier runs:
one request of 40 above 100 ms in a varying filter (phone, country, name contains) while the
p50 stayed near 15 ms. The loader now VACUUMs the loaded tables as well as ANALYZEs them; that
alone did not cure it. PostgreSQL's slow-statement log then showed most of those requests
never above 60 ms in the database: the pause was in the service, a full cyclic garbage
collection walking the start-up heap (about 50 ms measured). Services now freeze their
start-up heap (shared/process.py); the next full run had every filter's p99 at or under 25 ms.""",
    "write-cost": """### write cost (CPU per write, converging rate, back-to-back creates)

Not from py-spy: from this scenario's own per-process CPU split, in six `crm bench write-cost`
runs (one full) on the 2-core machine shared with other work (PostgreSQL). `--profile` records
every process of the system with py-spy during the last rate's window.
Three runs with each service's relay, consumers and jobs in its API process:
- 20 writes/s: 90-96 ms of CPU per write in all (the bare app 3.4-4.2 ms with its backends):
  customer 24-26 ms, sales, service desk and campaign 10-11 ms each, the Kafka broker 16-29 ms,
  PostgreSQL backends 9-10 ms, the gateway 3.6-3.8 ms.
- 50 writes/s offered: 34-47 held, 40-57 ms per write. Total CPU per write times the rate held
  is about 1.9 CPU-seconds per second: both cores are busy, so below 50 writes/s the system
  saturates; the figure at "50/s" is the cost at saturation.
- Idle (nothing sent): about 190 ms of CPU per second (customer 30, each replica service 32,
  broker 47, backends 15): relay polls and consumer fetches and heartbeats. That is 10 of the
  90 ms at 20/s; the rest is work per event.
- Beyond idle (the run that measured it), a write costs about twice as much at 20/s as at 47/s
  in every process (customer 25 vs 13 ms, each replica 9.4 vs 3.7 ms, broker 14 vs 2 ms): at a
  low rate each event travels alone, and every hop pays its own fetch, transaction and commit;
  under load, batches share them. The broker spends more CPU per second at 20 writes/s
  (330-570 ms/s) than at 34-47 held (150-250 ms/s): every consumer fetches with
  `fetch_min_bytes=1` and `fetch_max_wait_ms=100`, so at a low rate each event is one small
  fetch answer to each consumer of each service.
- No step converges: at 50 writes/s offered the gateway path holds 36-44/s, p99 0.8-1.1 s.
- Back to back through the gateway: p50 51-54 ms (18-19 creates/s); the bare app 3.1-3.5 ms.
Three runs (two quick, one full) with each service split into an API and a worker process (an
early version of the split): 90-95 ms per write at 20/s (customer API 10.6-11.3, customer worker
16.9-19.0, each replica worker 9-10.9, the replica services' APIs 0-0.1, broker 14.7-26.8,
backends 8.8-9.6, gateway 3.9-4.0); at 50 offered 36-51 held and 38-54 ms (the run that held
50.8/s used 1.94 CPU-seconds per second: the edge of the two cores); convergence at 50/s offered
held 36-42/s, p99 0.54-0.74 s; back to back p50 38.5-39.3 ms; idle 173-323 ms/s (broker 57-136,
each worker 19-47). The customer API alone spends 8-11 ms per create where the bare app spends
2.5-3.
The gateway's CPU per write rises from 3.6-4.0 ms at 20/s to 5.1-8.6 ms at 50 offered when
requests queue at the customer API (3.3 ms in the run that held 50/s). Next steps: one consumer
per worker with fetch settings that wait for a batch, batched apply in the replicas and the
view builder, the broker's own settings, and the customer API's request path.""",
    "sales-forecast": """### sales forecast (100k opportunities)

The forecast reads the tenant's rollup (counted deals summed per group, segment, currency,
status, category and probability; a segment is a stretch in which neither the month nor any
rate changes) instead of the deals: for 100k deals it holds about 11.5k rows by owner and
2.3k by team or region. A balanced CASE on each row's segment places it in its stretch of
the request's rates; only part-segments at the window's edges are summed from the deals.
Profiled directly (no HTTP), a forecast by owner took 56 ms of which the rollup query 21 ms
and conversion and rounding in Python about 25 ms (5.7k stretch sums); by region 25 ms.
The rest of the round trip is the reply: 65 KB of JSON by owner, serialized once (the route
returns the body itself, not a response model to validate again). Before the rollup the
same requests scanned 100k deals (p99 217-252 ms here). The bare aggregate baseline still
scans the deals, so its ratio shows what the rollup saves. The build job summed the 100k
loaded deals in about 3 s (reading them, summing in Python, inserting the rows); a new
rate re-sums only the segment it splits.""",
    "lead-intake": """### lead intake (create rate against customer creates; import against COPY)

Create: 38 leads/s against 54 customer creates/s through the gateway in the full run written
with the scenario (70%); 36-54 against 43-55 in the quick runs (67-125%: 5 s runs on the shared
2-core machine swing that much). py-spy of the sales API under that load (GIL thread):
`create_lead` 66% of the samples, SQLAlchemy statement execution 37%, routing 25% (the team
read twice, its row locked, the members' loads counted, the rules read), no single hot spot;
the customer API's profile under its own run has the same shape (`create_customer` 57%,
statement execution 35%).

Import: 56-61 rows/s through `POST /v1/leads/import` (58 for the full run's 100k rows, in 29
minutes), flat as the table grows (one 500-row batch committed every 8 s or so), against
370,000-600,000 rows/s for COPY of the same CSV into a plain table (596,000 for 100k rows).
Each row goes through the very `create_lead` of the API, one at a time. Counted in-process on a
fresh database (nothing else running): 22 SQL statements per row, each its own round trip: 4.7
INSERTs (the lead, two history entries, one or two outbox events), each flushed alone by the
autoflush before the next query; 3.6 lookups of open leads (by e-mail, phone, domain); 2.9
UPDATEs of the lead just inserted (its version and history step bumped after its insert was
flushed); 2.7 advisory key locks; 2.7 customer-key lookups; the team read twice and updated
(the round-robin turn); and the scoring rules and the routing rules read again for every row.
Just under half of a row's time (11 of 25 ms in that count, timing included) is those round
trips, the rest ORM work in Python. 40% of COPY is 150,000-240,000 rows/s, 4-7 microseconds a
row: the per-row path takes about 17 ms, 2,500-4,000 times that, so no tuning of it reaches the
target (reading the rules once per batch, reading the team once and inserting each lead once,
after routing, would save 5-6 of the 22 statements; not measured). Reaching it needs a
set-based import: COPY each batch into a staging table, compute its keys there, find duplicates
within the file and against open leads and customer keys with joins, score and match routing
rules in SQL, hand out capacity per team in one window query, and write leads, history and
outbox rows with INSERT ... SELECT, with the key locks taken per batch. The customer import,
which already writes with COPY, reaches 17% of COPY of its own rows into its indexed table.""",
    "send": """### campaign send throughput (below 300 messages/s)

Measured while writing the bench (PostgreSQL, 2,000 members, one worker): about 100 messages/s,
6.4 ms of worker CPU per message; SQLite about 160/s. A profile (cProfile, PostgreSQL) puts most of
it in the database: each message is one transaction of about ten statements, because the previous
message is marked sent, with its `crm.campaign.send.sent.v1` event, in the same transaction that
decides the next one (the send row locked, the member, the replicated view for consent and address,
a pending unsubscribe, a bounced address, the frequency cap and its count). That is what makes a kill
leave at most one message unconfirmed and consent be read at the moment each message leaves.
Building the MIME message was a quarter of the CPU with `EmailMessage`; it is now built with the
compat32 classes (0.4 ms instead of 1.5 ms). Reaching 300/s needs the bookkeeping set-based: decide
a chunk of sends in one statement and mark a chunk sent in one, which widens the in-doubt window
after a kill from one message to one chunk (still never twice). Not done yet.""",
    "memory": """### memory

A service above its RSS target: see the table; not observed while writing the bench.""",
}
