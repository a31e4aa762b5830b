"""Fixtures for tessera-proxy system tests (helpers: proxy_cluster.py).

    backend_kind  "redis" or "tessera": every module runs once against a
                Redis 7.0 Cluster and once against a Tessera cluster
    cluster     a real 3-master cluster of that kind (Debian's redis-server
                or tessera-node), shared by the tests of one module
    proxy       tessera-proxy in front of it (module scope)
    pr          redis.Redis on the proxy, cluster flushed before each test
    start_proxy factory: start_proxy(seed_addrs, *extra_args) -> Proxy
    cluster_tmp the module's temp dir (for extra Node()s)
"""

import shutil
import tempfile

import pytest

from .proxy_cluster import KINDS, Cluster, Proxy, observer_args


@pytest.fixture(scope="module")
def cluster_tmp():
    d = tempfile.mkdtemp(prefix="tessera-proxy-test-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module", params=KINDS)
def backend_kind(request):
    return request.param


@pytest.fixture(scope="module")
def cluster(cluster_tmp, backend_kind):
    c = Cluster(cluster_tmp, kind=backend_kind)
    yield c
    c.stop()


@pytest.fixture(scope="module")
def proxy(cluster, cluster_tmp):
    p = Proxy(cluster_tmp, [n.addr for n in cluster.nodes],
              observer_args(cluster.kind))
    yield p
    rc = p.stop()
    # a clean shutdown: sanitizer builds exit non-zero on leaks or UB
    assert rc == 0, "tessera-proxy exited with %s\n%s" % (rc, p.log_tail())


@pytest.fixture
def pr(proxy, cluster):
    cluster.flushall()
    c = proxy.client()
    yield c
    c.close()


@pytest.fixture
def start_proxy(cluster_tmp):
    started = []

    def start(seeds, *extra):
        p = Proxy(cluster_tmp, seeds, extra)
        started.append(p)
        return p
    yield start
    for p in started:
        p.stop()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed:
        p = item.funcargs.get("proxy")
        if p is not None:
            rep.sections.append(("tessera-proxy log", p.log_tail()))
