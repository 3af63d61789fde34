"""Round trips of every record through a real store (SQLite and PostgreSQL), and the reward-window join."""
from __future__ import annotations

import numpy as np
import pytest

from artwork.errors import AlreadyExistsError, InvalidRecordError, NotFoundError
from artwork.records import LoggedDecision, Reward, Title
from artwork.reward_mapping import RewardMapping
from tests.conftest import count_rows


def test_title_round_trip(store, data_dir, open_store):
    added = store.add_title("t-1", "The Title", ["drama", "comedy"])
    again = open_store(data_dir)
    assert again.get_title("t-1") == added
    assert again.list_titles() == [added]
    assert isinstance(added, Title) and added.genres == ("drama", "comedy")


@pytest.mark.parametrize("bad", ["", "../etc", "a/b", "x" * 200, "sp ace", ".hidden", "é"])
def test_title_ids_with_tricks_are_refused(store, bad):
    with pytest.raises(InvalidRecordError, match="is not valid"):
        store.add_title(bad, "Name")
    assert store.list_titles() == []


def test_duplicate_and_unknown_titles(store):
    store.add_title("t1", "One")
    with pytest.raises(AlreadyExistsError, match="already exists"):
        store.add_title("t1", "Again")
    with pytest.raises(NotFoundError, match="no title 'nope'"):
        store.get_title("nope")


def test_artwork_round_trip_with_every_field(store, data_dir, open_store, jpeg_bytes):
    store.add_title("t1", "One")
    emb = np.linspace(-1, 1, 16, dtype=np.float32)
    data = jpeg_bytes(7, 160, 90)
    art = store.add_artwork_image(
        "t1", data, source="video", frame_time=12.5, frame_index=300, shot=4,
        quality={"sharpness": 0.8, "faces": 2}, tags=("close-up", "dark"),
        embedding=emb, embedder="classic-v1", status="live",
    )
    loaded = open_store(data_dir).get_artwork(art.id)
    assert loaded == art
    assert loaded.embedding.dtype == np.float32 and np.array_equal(loaded.embedding, emb)
    assert (loaded.width, loaded.height, loaded.shot, loaded.frame_index) == (160, 90, 4, 300)
    assert (data_dir / loaded.path).read_bytes() == data
    assert store.list_artworks("t1", "live") == [art]
    assert store.list_artworks("t1", "retired") == []


def test_same_image_twice_is_refused(store, jpeg_bytes):
    store.add_title("t1", "One")
    store.add_title("t2", "Two")
    art = store.add_artwork_image("t1", jpeg_bytes(1))
    with pytest.raises(AlreadyExistsError, match=f"already artwork {art.id} of title 't1'"):
        store.add_artwork_image("t2", jpeg_bytes(1))


def test_status_and_default(store, jpeg_bytes):
    store.add_title("t1", "One")
    a = store.add_artwork_image("t1", jpeg_bytes(1))
    b = store.add_artwork_image("t1", jpeg_bytes(2))
    assert store.set_status(a.id, "live").status == "live"
    assert store.set_default(a.id).is_default
    assert store.set_default(b.id).is_default
    assert not store.get_artwork(a.id).is_default
    with pytest.raises(InvalidRecordError, match="status 'gone'"):
        store.set_status(a.id, "gone")
    with pytest.raises(NotFoundError):
        store.set_status("missing", "live")


def test_search_titles_a_page_at_a_time_with_counts(store, jpeg_bytes):
    for i in range(12):
        store.add_title(f"t{i:02d}", f"{'Night' if i % 3 == 0 else 'Day'} {i:02d}")
    store.add_title("x_1", "50% Off")
    store.add_artwork_image("t00", jpeg_bytes(1), status="live")
    store.add_artwork_image("t00", jpeg_bytes(2))
    page = store.search_titles("night", offset=0, limit=3)
    assert [t.id for t in page.titles] == ["t00", "t03", "t06"] and page.total == 4
    assert page.counts["t00"] == {"candidate": 1, "live": 1, "retired": 0}
    assert page.counts["t03"] == {"candidate": 0, "live": 0, "retired": 0}
    assert [t.id for t in store.search_titles("NIGHT", offset=3, limit=3).titles] == ["t09"]
    assert store.search_titles("", limit=5).total == 13
    assert [t.id for t in store.search_titles("T1").titles] == ["t10", "t11"]  # ids too, any case
    assert [t.id for t in store.search_titles("0%").titles] == ["x_1"]  # % and _ are literal
    assert [t.id for t in store.search_titles("x_").titles] == ["x_1"]
    assert store.search_titles("t_1").total == 0
    with pytest.raises(InvalidRecordError, match="limit of 1 to 1000"):
        store.search_titles(limit=0)


def test_set_statuses_all_or_none(store, jpeg_bytes):
    from artwork.errors import LiveLimitError

    store.add_title("t1", "One")
    store.add_title("t2", "Two")
    a, b, c = (store.add_artwork_image("t1", jpeg_bytes(i)) for i in range(3))
    other = store.add_artwork_image("t2", jpeg_bytes(9))
    assert [x.status for x in store.set_statuses([a.id, b.id], "live", max_live=2)] == ["live", "live"]
    with pytest.raises(LiveLimitError, match="2 is the most .* retire one first"):
        store.set_statuses([c.id], "live", max_live=2)
    store.set_status(b.id, "retired")
    with pytest.raises(LiveLimitError, match="2 more cannot be approved: approve at most 1"):
        store.set_statuses([b.id, c.id, a.id], "live", max_live=2)
    with pytest.raises(InvalidRecordError, match="not one of title 't1'"):
        store.set_statuses([c.id, other.id], "retired", title_id="t1")
    with pytest.raises(NotFoundError):
        store.set_statuses([c.id, "missing"], "retired")
    assert [store.get_artwork(x.id).status for x in (a, b, c, other)] == ["live", "retired", "candidate",
                                                                           "candidate"]
    with pytest.raises(InvalidRecordError, match="no artworks given"):
        store.set_statuses([], "live")


def test_decision_and_reward_round_trip(store, make_decision, log_decisions):
    d = make_decision("e1", 100.0)
    log_decisions(store, [d])
    assert store.get_decision("e1") == d
    assert isinstance(store.get_decision("e1"), LoggedDecision)
    r = Reward("e1", 101.5, "click", 2.0)
    assert store.add_rewards([r]) == [True]
    [pair] = store.learning_pairs(60, RewardMapping(), now=1000)
    assert (pair.decision, dict(pair.kinds)) == (d, {"click": 2.0})
    assert list(store.decisions()) == [d]


def test_a_repeated_event_id_keeps_the_first_decision(store, make_decision, caplog):
    store.decision_log.ingester.stop()  # ingested by hand below
    first = make_decision("e1", 100.0, chosen=0)
    store.journal_decisions([first, make_decision("e1", 200.0, chosen=2)])
    assert store.ingest_journal() == 1
    assert "1 journaled decision(s)" in caplog.text and "the first was kept" in caplog.text
    store.journal_decisions([make_decision("e1", 300.0, chosen=1)])
    assert store.ingest_journal() == 0
    assert store.get_decision("e1") == first
    assert store.count_decisions() == 1


def test_a_repeated_event_id_inside_a_large_batch_loses_no_other(store, make_decision, caplog):
    """On PostgreSQL the batch is streamed (COPY) and refused mid-way; none of it may be lost."""
    store.decision_log.ingester.stop()  # ingested by hand below
    store.journal_decisions([make_decision("e0500", 1.0, chosen=0)])
    assert store.ingest_journal() == 1
    store.journal_decisions([make_decision(f"e{i:04d}", float(i), chosen=2) for i in range(1000)])
    assert store.ingest_journal() == 999
    assert "1 journaled decision(s)" in caplog.text
    assert store.count_decisions() == 1000
    assert store.get_decision("e0500").timestamp == 1.0  # the first one logged is kept


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(pmf=(0.2, 0.5, 0.4)), "summing to"),
        (dict(pmf=(0.5, 0.0, 0.5), chosen=1), r"probability 0\.0"),
        (dict(candidates=("a1", "a1", "a3")), "names a candidate twice"),
        (dict(candidates=(), pmf=(), chosen=0), "no candidates"),
        (dict(pmf=(0.5, 0.5)), "2 probabilities for 3 candidates"),
        (dict(action_keys=("k1", "k2")), "2 action keys for 3 candidates"),
    ],
)
def test_inconsistent_decisions_are_refused(store, make_decision, change, message):
    if not change.get("candidates", True):
        d = LoggedDecision("bad", 1.0, "u", "t", {}, (), (), "a1", 1.0, "vw", 0)
    else:
        d = make_decision("bad", 1.0, **change)
    with pytest.raises(InvalidRecordError, match=message):
        store.journal_decisions([make_decision("good", 1.0), d])
    assert store.journal_backlog() == 0  # nothing appended, not even the good one
    assert store.count_decisions() == 0


def test_feedback_is_idempotent_and_checked(store, make_decision, log_decisions):
    log_decisions(store, [make_decision("e1", 100.0)])
    assert store.add_rewards([Reward("e1", 101, "play"), Reward("e1", 102, "play")]) == [True, False]
    assert store.add_rewards([Reward("e1", 103, "play")]) == [False]
    assert count_rows(store, "rewards") == count_rows(store, "plays") == 1
    with pytest.raises(NotFoundError, match=r"^no decision with event id 'nope' \(and 1 more\)$"):
        store.add_rewards([Reward("e1", 101, "click"), Reward("nope", 101, "play"),
                           Reward("nope2", 101, "play")])
    with pytest.raises(InvalidRecordError, match="kind 'like'"):
        store.add_rewards([Reward("e1", 101, "like")])
    with pytest.raises(InvalidRecordError, match="finite"):
        store.add_rewards([Reward("e1", 101, "play", float("nan"))])
    assert count_rows(store, "rewards") == 1  # the refused batches wrote nothing
    [pair] = store.learning_pairs(60, RewardMapping(), now=1000)
    assert dict(pair.kinds) == {"play": None}  # the first play's, kept


def test_reward_join_window_duplicates_and_missing(store, make_decision, log_decisions):
    reward_of = RewardMapping()
    log_decisions(store, [
        make_decision("played", 100.0), make_decision("late", 110.0),
        make_decision("clicked", 120.0), make_decision("silent", 130.0),
        make_decision("open", 990.0),  # window not closed yet at now=1000
    ])
    store.add_rewards([
        Reward("played", 101, "impression"), Reward("played", 150, "click"),
        Reward("played", 160, "play"), Reward("played", 170, "play"),  # duplicate ignored
        Reward("late", 110 + 61, "play"),  # after the 60 s window
        Reward("clicked", 121, "click"),
    ])
    pairs = list(store.learning_pairs(60, reward_of, now=1000))
    got = {p.decision.event_id: (p.reward, dict(p.kinds)) for p in pairs}
    assert got == {
        "played": (1.0, {"impression": None, "click": None, "play": None}),
        "late": (0.0, {}),
        "clicked": (0.0, {"click": None}),
        "silent": (0.0, {}),
    }
    assert [p.decision.event_id for p in pairs] == ["played", "late", "clicked", "silent"]
    # A learner tailing the log resumes after the last pair it consumed.
    last = pairs[1].decision
    rest = store.learning_pairs(60, reward_of, now=1000, after=(last.timestamp, last.event_id))
    assert [p.decision.event_id for p in rest] == ["clicked", "silent"]
    # A wider window and another mapping change the answer.
    clicks = RewardMapping({"impression": 0.0, "click": 0.25, "play": 1.0})
    wide = {p.decision.event_id: p.reward for p in store.learning_pairs(100, clicks, now=2000)}
    assert wide == {"played": 1.0, "late": 1.0, "clicked": 0.25, "silent": 0.0, "open": 0.0}


def test_reward_join_pages_through_many_decisions(store, make_decision, log_decisions):
    log_decisions(store, [make_decision(f"e{i:05d}", 1000.0 + i // 3) for i in range(4500)])
    store.add_rewards([Reward(f"e{i:05d}", 1000.0 + i // 3, "play") for i in range(0, 4500, 7)])
    pairs = list(store.learning_pairs(10, RewardMapping(), now=10_000))
    assert len(pairs) == 4500
    assert sum(p.reward for p in pairs) == len(range(0, 4500, 7))
    assert len({p.decision.event_id for p in pairs}) == 4500


def test_genre_affinity_and_stats(store, make_decision, log_decisions):
    store.add_title("t1", "One", ["drama"])
    store.add_title("t2", "Two", ["drama", "comedy"])
    log_decisions(store, [make_decision("e1", 1.0, title="t1"),
                          make_decision("e2", 2.0, title="t2"),
                          make_decision("e3", 3.0, title="t2", user="other")])
    store.add_rewards([Reward("e1", 2, "play"), Reward("e2", 3, "play"), Reward("e3", 4, "play")])
    assert store.genre_affinity("u1") == pytest.approx({"comedy": 1 / 3, "drama": 2 / 3})
    assert store.genre_affinity("stranger") == {}
    stats = store.artwork_stats("t2")
    assert stats == [{"artwork_id": "a2", "policy": "vw", "decisions": 2, "impressions": 0,
                      "clicks": 0, "plays": 2}]
