"""`database_url` chooses the store's backend: a PostgreSQL database, or the data directory's SQLite file."""
from __future__ import annotations

import pytest

from api.config import load_config
from api.errors import ConfigError
from api.runtime.stores import open_store


def test_the_environment_points_the_store_at_postgres(tmp_path, postgres_url):
    config = load_config(environ={"ARTBANDIT_DATABASE_URL": postgres_url,
                                  "ARTBANDIT_DATA_DIR": str(tmp_path / "host")})
    store = open_store(config)
    try:
        store.add_title("t1", "One")
        assert type(store.db).__name__ == "PostgresDatabase"
        assert not (tmp_path / "host" / "artbandit.db").exists()  # nothing in SQLite
    finally:
        store.close_all()


def test_without_a_url_the_store_is_the_data_directorys_sqlite_file(tmp_path):
    config = load_config(environ={"ARTBANDIT_DATA_DIR": str(tmp_path / "host")})
    assert config.database_url == ""
    store = open_store(config)
    store.add_title("t1", "One")
    assert (tmp_path / "host" / "artbandit.db").exists()
    store.close_all()


@pytest.mark.parametrize("url", ["mysql://db/x", "sqlite:///tmp/x.db", "db.example.com"])
def test_a_url_that_is_not_postgres_is_refused(url):
    with pytest.raises(ConfigError, match="database_url must be a postgresql:// URL"):
        load_config(environ={"ARTBANDIT_DATABASE_URL": url})
