"""The PostgreSQL test server itself: real, unprivileged, one fresh database per test."""

from __future__ import annotations

from tests.postgres import PostgresServer


def test_server_runs_unprivileged_on_loopback(postgres_server: PostgresServer) -> None:
    user = postgres_server.psql("SELECT current_setting('data_directory')")
    assert user.startswith(str(postgres_server.root))
    assert postgres_server.psql("SHOW listen_addresses") == "127.0.0.1"
    assert postgres_server.psql("SHOW port") == str(postgres_server.port)
    pid = int((postgres_server.data / "postmaster.pid").read_text().split()[0])
    with open(f"/proc/{pid}/status") as status:
        uid = next(line.split()[1] for line in status if line.startswith("Uid:"))
    assert uid != "0"  # PostgreSQL refuses root; the fixture switched user


def test_each_test_gets_an_empty_database_with_pg_trgm(
    postgres_server: PostgresServer, empty_postgres_url: str
) -> None:
    name = empty_postgres_url.rsplit("/", 1)[1]
    tables = postgres_server.psql(
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", database=name
    )
    assert tables == "0"
    extensions = postgres_server.psql("SELECT extname FROM pg_extension", database=name)
    assert "pg_trgm" in extensions.split()


def test_a_store_test_gets_its_own_migrated_database(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    name = postgres_url.rsplit("/", 1)[1]
    assert postgres_server.psql("SELECT count(*) FROM messages", database=name) == "0"
    assert postgres_server.psql("SELECT to_regclass('scratch') IS NULL", database=name) == "t"
    postgres_server.psql("CREATE TABLE scratch (id int)", database=name)


def test_a_second_test_does_not_see_the_firsts_tables(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    name = postgres_url.rsplit("/", 1)[1]
    assert postgres_server.psql("SELECT to_regclass('scratch') IS NULL", database=name) == "t"


def test_restart_keeps_the_data_and_the_port(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    name = postgres_url.rsplit("/", 1)[1]
    postgres_server.psql("CREATE TABLE kept (id int); INSERT INTO kept VALUES (7)", database=name)
    port = postgres_server.port
    postgres_server.restart(mode="immediate")
    assert postgres_server.port == port
    assert postgres_server.psql("SELECT id FROM kept", database=name) == "7"
