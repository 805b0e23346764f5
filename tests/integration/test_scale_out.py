"""Collectors scaled out on one PostgreSQL database: separate collector processes (as on separate
machines) share nothing but the database; collectors starting together migrate once; the database
restarted under load costs 503s and retries, never an acknowledged event, never a hung request;
a collector started while the database is down answers 503 until it is back; sessions closed and
triggers delivered once by several processes at a time."""

from __future__ import annotations

import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.support.contract import SHOPPER_HEADERS, body, event, human
from tests.support.postgres import PostgresCluster
from tests.support.servers import API_TOKEN, CollectorProcess, WebhookReceiver, free_port, run_sql

ACCOUNTS = '[accounts.shop]\ncollector_url = "http://127.0.0.1:1/collect"\norigins = ["*"]\n'


def collectors(tmp_path, db: str, count: int, *extra: str) -> list[CollectorProcess]:
    """`count` collector processes on database `db`, each with its own folder (not started)."""
    for n in range(count):
        (tmp_path / f'c{n}').mkdir(parents=True, exist_ok=True)
    return [CollectorProcess(tmp_path / f'c{n}', ACCOUNTS, db=db, extra_args=list(extra)) for n in range(count)]


def post(url: str, events: list[dict], timeout: float = 30) -> int:
    return httpx.post(url + '/collect', content=body(events), headers=SHOPPER_HEADERS, timeout=timeout).status_code


@pytest.fixture
def pair(tmp_path, postgres):
    """Two collector processes on one new database."""
    processes = collectors(tmp_path, postgres.database('pair'), 2)
    for process in processes:
        process.start()
    yield processes
    for process in processes:
        process.stop()


def test_the_same_events_sent_to_two_collectors_at_once_are_stored_once(pair):
    """Each batch goes to both collectors at the same moment (a retry that crossed a load
    balancer); every event is stored once, and both read APIs see the same rows."""
    one, two = pair
    batches = [[event() for _ in range(10)] for _ in range(60)]
    gate = threading.Barrier(2)

    def send(process, batch):
        gate.wait()
        return post(process.url, batch)

    with ThreadPoolExecutor(max_workers=2) as pool:
        for batch in batches:
            assert list(pool.map(send, (one, two), (batch, batch))) == [204, 204]
    ids = [e['id'] for e in one.events('shop')]
    assert len(ids) == 600 and len(set(ids)) == 600
    assert [e['seq'] for e in one.events('shop')] == [e['seq'] for e in two.events('shop')]


def test_many_clients_spread_over_two_collectors_store_every_accepted_event_once(pair):
    accepted, lock = set(), threading.Lock()

    def client(seed: int) -> None:
        with httpx.Client(timeout=30) as http:
            for n in range(10):
                batch = [event() for _ in range(10)]
                target = pair[(seed + n) % 2]
                if http.post(target.url + '/collect', content=body(batch)).status_code == 204:
                    with lock:
                        accepted.update(e['id'] for e in batch)

    with ThreadPoolExecutor(max_workers=40) as pool:
        list(pool.map(client, range(40)))
    stored = [e['id'] for e in pair[1].events('shop')]
    assert len(accepted) == 4000
    assert len(stored) == len(set(stored)) and set(stored) == accepted


def test_a_reader_paging_while_two_collectors_write_never_skips_a_row(pair):
    """The live page and API readers page with `since`: rows must become visible in seq order."""
    stop = threading.Event()
    seen: list[str] = []

    def read() -> None:
        since = 0
        while not stop.is_set() or since < pair[0].last_seq('shop'):
            page = pair[0].events('shop', since=since)
            seen.extend(e['id'] for e in page)
            since = page[-1]['seq'] if page else since
            time.sleep(0.01)

    reader = threading.Thread(target=read)
    reader.start()

    def client(seed: int) -> None:
        for n in range(15):
            post(pair[(seed + n) % 2].url, [event() for _ in range(5)])

    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(client, range(16)))
    finally:
        stop.set()
        reader.join()
    stored = [e['id'] for e in pair[0].events('shop')]
    assert len(stored) == 16 * 15 * 5
    assert sorted(seen) == sorted(stored), f'{len(set(stored) - set(seen))} rows skipped by the paging reader'


def test_rate_limits_are_per_collector_machine(tmp_path, postgres):
    """The documented tolerance (README, "Scaling out"): `--rate`/`--burst` hold per collector
    machine, shared by its workers; N machines behind a balancer let one client through at most N
    times the limit. Two separate collectors here: each allows its burst, together twice that."""
    processes = collectors(tmp_path, postgres.database('rate'), 2, '--rate', '0.01', '--burst', '5')
    for process in processes:
        process.start()
    try:
        statuses = [post(processes[n % 2].url, [event()]) for n in range(30)]
        assert statuses.count(204) == 10 and statuses.count(429) == 20
        one_alone = [post(processes[0].url, [event()]) for _ in range(3)]
        assert one_alone == [429, 429, 429]
    finally:
        for process in processes:
            process.stop()


def test_collectors_starting_together_migrate_the_database_once(tmp_path, postgres):
    db = postgres.database('migrate')
    processes = collectors(tmp_path, db, 3)
    threads = [threading.Thread(target=p.start) for p in processes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        for process in processes:
            assert post(process.url, [event()]) == 204
        versions = run_sql(db, 'SELECT version FROM schema_migrations ORDER BY version')
        assert [v for (v,) in versions] == list(range(1, len(versions) + 1))
    finally:
        for process in processes:
            process.stop()


@pytest.fixture
def own_cluster():
    """A cluster of this test's own, to restart and stop at will."""
    cluster = PostgresCluster(Path(tempfile.mkdtemp(prefix='ometria-pg-'))).start()
    yield cluster
    cluster.remove()


def test_the_database_restarted_under_load_loses_nothing_acknowledged(tmp_path, own_cluster):
    processes = collectors(tmp_path, own_cluster.database('restart'), 2, '--body-timeout', '5')
    for process in processes:
        process.start()
    acknowledged, statuses, slowest = set(), [], [0.0]
    lock, stop = threading.Lock(), threading.Event()

    def client(seed: int) -> None:
        with httpx.Client(timeout=30) as http:
            n = 0
            while not stop.is_set():
                n += 1
                batch = [event() for _ in range(10)]
                started = time.monotonic()
                try:
                    status = http.post(processes[(seed + n) % 2].url + '/collect', content=body(batch)).status_code
                except httpx.HTTPError as error:
                    status = type(error).__name__
                with lock:
                    slowest[0] = max(slowest[0], time.monotonic() - started)
                    statuses.append(status)
                    if status == 204:
                        acknowledged.update(e['id'] for e in batch)
                if status == 503:
                    time.sleep(0.1)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)
        own_cluster.restart('fast')
        time.sleep(0.5)
        own_cluster.restart('immediate')  # a crash: the server recovers from its WAL
        time.sleep(2.0)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    try:
        stored = [e['id'] for e in processes[0].events('shop')]
        assert statuses.count(503) > 0, 'the restarts were not felt: the test proves nothing'
        assert set(statuses) <= {204, 503}, f'unexpected answers: {set(statuses)}'
        assert slowest[0] < 10, f'a request hung {slowest[0]:.1f} s'
        assert acknowledged <= set(stored), f'{len(acknowledged - set(stored))} acknowledged events lost'
        assert len(stored) == len(set(stored))
        # Both collectors reconnected by themselves.
        assert [post(p.url, [event()]) for p in processes] == [204, 204]
    finally:
        for process in processes:
            process.stop()


def test_a_collector_started_while_the_database_is_down_answers_503_until_it_is_back(tmp_path, own_cluster):
    db = own_cluster.database('late')
    own_cluster.stop()
    process = collectors(tmp_path, db, 1)[0]
    process.start()
    try:
        answer = httpx.post(process.url + '/collect', content=body([event()]), timeout=30)
        assert answer.status_code == 503 and answer.headers['retry-after']
        # Anonymous clients get a short text, never the database's or the driver's words.
        assert answer.text == 'the store is unavailable: try again later\n'
        for route in ('events', 'sessions', 'triggers'):
            reading = httpx.get(f'{process.url}/api/{route}?account=shop', timeout=30,
                                headers={'Authorization': f'Bearer {API_TOKEN}'})
            assert reading.status_code == 503 and reading.headers['retry-after'], route
            assert 'Error' not in reading.text and 'refused' not in reading.text, reading.text
        own_cluster.start()
        deadline = time.monotonic() + 20
        while post(process.url, [event()]) != 204:
            assert time.monotonic() < deadline, 'the collector did not reconnect'
            time.sleep(0.2)
        assert len(process.events('shop')) >= 1
    finally:
        process.stop()


def test_workers_of_one_collector_share_one_database(tmp_path, postgres):
    process = CollectorProcess(tmp_path, ACCOUNTS, port=free_port(), db=postgres.database('workers'),
                               extra_args=['--workers', '2'])
    process.start()
    try:
        batches = [[event() for _ in range(10)] for _ in range(40)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            assert set(pool.map(lambda b: post(process.url, b), batches)) == {204}
        stored = [e['id'] for e in process.events('shop')]
        assert sorted(stored) == sorted(e['id'] for b in batches for e in b)
    finally:
        process.stop()


@pytest.mark.parametrize('layout', ['sqlite, 2 workers', 'postgresql, 2 collectors'])
def test_sessions_close_once_and_triggers_go_once_with_several_processes(tmp_path, postgres, layout):
    """Several processes close sessions and deliver triggers at the same time: each session gets
    one summary, each trigger reaches the receiver under one id, whatever process sent it."""
    receiver = WebhookReceiver()
    port = free_port()
    accounts = (f'[accounts.shop]\ncollector_url = "http://127.0.0.1:{port}/collect"\norigins = ["*"]\n'
                f'webhook_url = "{receiver.url}"\nwebhook_secret = "scale-out-secret-0123"\n')
    timing = ['--session-timeout', '1', '--webhook-retry-base', '300']
    if layout.startswith('sqlite'):
        processes = [CollectorProcess(tmp_path, accounts, port=port, extra_args=['--workers', '2', *timing])]
    else:
        db = postgres.database('closing')
        for n in range(2):
            (tmp_path / f'c{n}').mkdir()
        processes = [CollectorProcess(tmp_path / f'c{n}', accounts, db=db, extra_args=timing) for n in range(2)]
    try:
        for process in processes:
            process.start()
        visitors = []
        for n in range(40):
            cid, sid = f'c{n:03d}', f's{n:03d}'
            identified = n % 2 == 0
            events = [{**one, 'cid': cid, 'sid': sid, 'uid': f'v{n}@example.com' if identified else None}
                      for one in (event('pageview', page_type='product', page_data={'pid': str(n)}), human())]
            assert post(processes[n % len(processes)].url, events) == 204
            visitors.append(identified)
        expected = sum(visitors)
        receiver.wait_calls(expected, timeout=30)
        time.sleep(3)
        summaries = processes[0].sql('SELECT cid, sid FROM summaries')
        assert len(summaries) == 40 and len(set(summaries)) == 40
        ids = [call.headers['ometria-delivery'] for call in receiver.calls]
        assert len(ids) == expected and len(set(ids)) == expected, 'each trigger delivered once'
    finally:
        for process in processes:
            process.stop()
        receiver.close()
