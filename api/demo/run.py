"""`artbandit demo`: the whole product end to end, from real footage to an offline replay.

1. A fresh data directory gets a small catalog made by the real vision stage: candidates
   ingested from the committed Big Buck Bunny clip, and creatives' variants (crops and colour
   grades) of committed photographs ingested as stills. Every candidate goes live.
2. The real server (`artbandit serve`, gunicorn, learner in process) starts on 127.0.0.1.
3. A simulated population from the synthetic world, whose tastes are over visual traits
   measured on the real artworks (faces, close-up, contrast, colour, brightness), asks
   `GET /artwork` and answers with `POST /feedback` over HTTP; the world's exact play
   probabilities say how good each served artwork was, and what uniform, the default
   artwork and the oracle would have earned.
4. The decision log is exported and replayed offline through the simulator's estimators,
   next to the truth the world knows.
"""
from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np
import requests
from tqdm import tqdm

from artwork.export import export_log
from artwork.records import Artwork
from artwork.store import Store
from artwork.reward_mapping import RewardMapping
from simulator.estimators import IPS, DoublyRobust, SelfNormalizedIPS
from simulator.evaluation import run_policy
from simulator.log_files import read_log
from simulator.replay import replay_log
from simulator.reports import write_evaluation_report
from simulator.specs import parse_policy_specs
from simulator.world import TRAITS, World, WorldConfig
from vision.ingest import ingest_stills, ingest_video

from api.config import remember_settings
from api.demo.server_process import ServerProcess
from api.errors import DemoError, ServerStartError
from api.runtime.actions import catalog_actions

# The footage and photographs the demo ingests ship with the package (see media/ATTRIBUTION.md).
MEDIA = Path(__file__).resolve().parent / "media"
MARKER = ".artbandit-demo"
TOKEN = "demo-token"


@dataclass(frozen=True)
class DemoSettings:
    """How big the demo is and where it writes."""

    out: Path = Path("artbandit-demo")
    media: Path = MEDIA
    decisions: int = 6000
    users: int = 300
    seed: int = 7
    video_candidates: int = 6
    policy: str = "vw:igw"
    floor: float = 0.02
    reward_window: float = 0.5
    port: int | None = None
    database_url: str | None = None  # an empty PostgreSQL database, else SQLite in the data dir


@dataclass(frozen=True)
class DemoTitle:
    """A catalog title as the demo uses it: its live artworks in world order."""

    id: str
    name: str
    genres: tuple[str, ...]
    artworks: tuple[str, ...]


@dataclass
class Traffic:
    """What the simulated population saw, with the world's exact values."""

    served: list[float] = field(default_factory=list)
    uniform: list[float] = field(default_factory=list)
    default: list[float] = field(default_factory=list)
    static: list[float] = field(default_factory=list)  # the best artwork for everyone, per title
    oracle: list[float] = field(default_factory=list)
    plays: list[int] = field(default_factory=list)
    truth: dict[str, np.ndarray] = field(default_factory=dict)  # event id -> play probabilities


STILL_TITLES = (
    ("space-walk", "Space Walk", ("documentary", "drama"), "astronaut.jpg"),
    ("cat-nap", "Cat Nap", ("family", "comedy"), "chelsea.jpg"),
    ("morning-cup", "Morning Cup", ("drama", "romance"), "coffee.jpg"),
)


def creative_variants(image: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Variants a creative team might cut from one photograph: crops and colour grades."""
    h, w = image.shape[:2]
    wide = image[int(0.1 * h): int(0.9 * h), :]
    close = image[int(0.05 * h): int(0.7 * h), int(0.2 * w): int(0.8 * w)]
    dark = cv2.convertScaleAbs(image, alpha=0.55, beta=-10)
    warm = image.astype(np.float32)
    warm[..., 2] *= 1.25
    warm[..., 0] *= 0.8
    grey = cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    punchy = cv2.convertScaleAbs(image, alpha=1.4, beta=-40)
    return [("original", image), ("wide", wide), ("close-up", close), ("dark", dark),
            ("warm", np.clip(warm, 0, 255).astype(np.uint8)), ("mono", grey), ("punchy", punchy)]


def build_catalog(store: Store, settings: DemoSettings, work: Path) -> list[DemoTitle]:
    """Ingest the committed footage and stills through the vision stage; make them live."""
    video = settings.media / "bigbuckbunny.mp4"
    missing = [p for p in [video] + [settings.media / s[3] for s in STILL_TITLES] if not p.is_file()]
    if missing:
        raise DemoError(f"demo media missing: {', '.join(str(p) for p in missing)}")
    store.add_title("big-buck-bunny", "Big Buck Bunny", ("family", "comedy"))
    print("ingesting the Big Buck Bunny clip through the vision stage ...", flush=True)
    # The clip is a single shot, so allow all the candidates to come from it.
    report = ingest_video(store, "big-buck-bunny", video, max_candidates=settings.video_candidates,
                          per_shot=settings.video_candidates, sample_every=0.25, progress=True)
    print(f"  {len(report.boundaries) + 1} shot(s), {report.frames_analysed} frames analysed, "
          f"{len(report.candidates)} candidate(s) kept (embedder: {report.embedder})", flush=True)
    # Creatives then cut variants of the best frame, as they would for key art.
    best = store.image_path(report.candidates[0])
    sources = [("big-buck-bunny", "Big Buck Bunny", ("family", "comedy"), best)]
    for title_id, name, genres, still in STILL_TITLES:
        store.add_title(title_id, name, genres)
        sources.append((title_id, name, genres, settings.media / still))
    titles = []
    for title_id, name, genres, still in sources:
        image = cv2.imread(str(still))
        folder = work / title_id
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for label, variant in creative_variants(image):
            path = folder / f"{label}.jpg"
            cv2.imwrite(str(path), variant, [cv2.IMWRITE_JPEG_QUALITY, 90])
            paths.append(path)
        print(f"ingesting {len(paths)} creatives' variants of {still.name} for {title_id} ...",
              flush=True)
        report = ingest_stills(store, title_id, paths, progress=True)
        print(f"  {len(report.candidates)} kept, {report.duplicates} near-duplicate(s) and "
              f"{len(report.skipped)} already stored left out", flush=True)
        titles.append((title_id, name, genres))
    out = []
    for title_id, name, genres in titles:
        arts = store.list_artworks(title_id)
        for art in arts:
            store.set_status(art.id, "live")
        if arts:
            store.set_default(arts[0].id)
        out.append(DemoTitle(title_id, name, genres, tuple(a.id for a in arts)))
    return out


def drive_traffic(url: str, world: World, titles: list[DemoTitle], settings: DemoSettings) -> Traffic:
    """Simulated users ask for artwork and answer with feedback, over HTTP."""
    rng = np.random.default_rng(settings.seed + 1)
    traffic = Traffic()
    session = requests.Session()
    bar = tqdm(total=settings.decisions, desc="serving the simulated population", unit="decision")
    for i in range(settings.decisions):
        imp = world.impression(rng)
        title = titles[imp.title]
        m = len(title.artworks)
        features = imp.context.features
        r = session.get(f"{url}/artwork", params={
            "user": imp.context.user_id, "title": title.id, "device": features["device"],
            "country": features["country"], "hour": str(features["hour"])}, timeout=30)
        if r.status_code != 200:
            raise DemoError(f"GET /artwork answered {r.status_code}: {r.text}")
        choice = r.json()
        j = title.artworks.index(choice["artwork_id"])
        p = world.take_probabilities(imp)[:m]
        kinds = world.feedback(imp, j, rng)
        body = [{"event_id": choice["event_id"], "kind": k} for k in kinds]
        r = session.post(f"{url}/feedback", json=body, timeout=30)
        if r.status_code != 202:
            raise DemoError(f"POST /feedback answered {r.status_code}: {r.text}")
        traffic.served.append(float(p[j]))
        traffic.uniform.append(float(p.mean()))
        traffic.default.append(float(p[0]))
        traffic.static.append(float(p[world.best_nonpersonalized(imp.title)]))
        traffic.oracle.append(float(p.max()))
        traffic.plays.append(int("play" in kinds))
        traffic.truth[choice["event_id"]] = p
        bar.update()
        if i % 200 == 199:
            tail = slice(max(0, i - 999), i + 1)
            bar.set_postfix(take=f"{np.mean(traffic.served[tail]):.3f}",
                            oracle=f"{np.mean(traffic.oracle[tail]):.3f}")
    bar.close()
    return traffic


def offline_replay(store: Store, traffic: Traffic, titles: list[DemoTitle], out: Path,
                   window: float) -> list[dict[str, Any]]:
    """Export the log, replay it through the estimators, and set the truth beside them."""
    log_path = out / "decision-log.parquet"
    export_log(store, log_path, window=window, reward_of=RewardMapping(), now=time.time() + window)
    log = read_log(log_path)
    catalog = catalog_actions(store, log.action_names)
    specs = parse_policy_specs(["uniform", "default:0.05", "logged"])
    estimators = [IPS(), SelfNormalizedIPS(), DoublyRobust()]
    evaluations = replay_log(log, specs, estimators, catalog=catalog, seed=0, progress=True)
    write_evaluation_report(store.data_dir / "reports" / "demo-replay", evaluations,
                            {"log": str(log_path), "rows": log.n_rounds})
    rows = []
    for spec, evaluation in zip(specs, evaluations):
        run = run_policy(spec, log, catalog=catalog)
        truth = np.mean([
            float(np.dot(run.target_pmf[i, : len(traffic.truth[e])], traffic.truth[e]))
            for i, e in enumerate(log.event_id)
        ])
        for est in evaluation.estimates:
            rows.append({"policy": spec.text, "estimator": est.estimator, "estimate": est.value,
                         "ci_low": est.ci_low, "ci_high": est.ci_high, "truth": float(truth),
                         "covered": bool(est.ci_low <= truth <= est.ci_high)})
    return rows


def _plots(traffic: Traffic, offline: list[dict[str, Any]], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(traffic.served)
    window = max(50, n // 20)
    x = np.arange(window, n + 1)

    def rolling(values: list[float]) -> np.ndarray:
        c = np.cumsum(np.insert(np.asarray(values, float), 0, 0.0))
        return (c[window:] - c[:-window]) / window

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for label, values, style in (("oracle", traffic.oracle, "k--"),
                                 ("learned policy (served)", traffic.served, "C0-"),
                                 ("uniform", traffic.uniform, "C1-"),
                                 ("default artwork", traffic.default, "C2-")):
        ax.plot(x, rolling(values), style, label=label)
    ax.set_xlabel("decision")
    ax.set_ylabel(f"take rate (exact, rolling {window})")
    ax.set_title("Learning over HTTP: take rate of the served artwork")
    ax.legend()
    ax.grid(alpha=0.3)
    curve = out / "learning_curve.png"
    fig.tight_layout()
    fig.savefig(curve, dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 4.5))
    labels = [f"{r['policy']}\n{r['estimator']}" for r in offline]
    y = np.arange(len(offline))
    est = np.array([r["estimate"] for r in offline])
    err = np.array([[r["estimate"] - r["ci_low"], r["ci_high"] - r["estimate"]] for r in offline]).T
    ax.errorbar(est, y, xerr=err, fmt="o", capsize=3, label="estimate, 95% CI")
    ax.plot([r["truth"] for r in offline], y, "kx", label="truth (world)")
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_xlabel("take rate")
    ax.set_title("Offline replay of the logged decisions")
    ax.legend()
    ax.grid(alpha=0.3)
    estimates = out / "offline_estimates.png"
    fig.tight_layout()
    fig.savefig(estimates, dpi=120)
    plt.close(fig)
    return [curve, estimates]


def visual_traits(art: Artwork) -> np.ndarray:
    """The world's trait vector of a real artwork, from what the vision stage measured on it."""
    q = art.quality
    faces = float(q.get("face_count", 0.0))
    values = {
        "face": min(1.0, faces),
        "closeup": float(q.get("face_share", 0.0)) / 0.15,
        "action": float(q.get("contrast", 0.0)) / 0.35,
        "romance": float(q.get("colourfulness", 0.0)) / 120.0,
        "dark": 1.0 - float(q.get("brightness", 0.5)),
        "bright": float(q.get("brightness", 0.5)),
        "text": 0.0,
        "group": (faces - 1.0) / 2.0,
    }
    return np.clip([values[name] for name in TRAITS], 0.0, 1.0)


def demo_world(store: Store, titles: list[DemoTitle], settings: DemoSettings) -> World:
    """A synthetic population whose tastes are over the traits measured on the catalog."""
    k = max(len(t.artworks) for t in titles)
    traits = np.zeros((len(titles), k, len(TRAITS)))
    for i, title in enumerate(titles):
        for j, artwork_id in enumerate(title.artworks):
            traits[i, j] = visual_traits(store.get_artwork(artwork_id))
    config = WorldConfig(n_users=settings.users, n_titles=len(titles), artworks_per_title=k,
                         seed=settings.seed)
    return World(config, traits=traits)


def _prepare(out: Path) -> None:
    if out.exists():
        if not (out / MARKER).exists() and any(out.iterdir()):
            raise DemoError(f"{out} exists and was not made by the demo; choose another --out")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / MARKER).write_text("made by artbandit demo; deleted by the next run\n")


def run_demo(settings: DemoSettings, echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the demo; returns the summary it prints and writes to summary.json."""
    started = time.monotonic()
    out = settings.out.resolve()
    _prepare(out)
    data_dir = out / "data"
    store = Store.open(data_dir, database_url=settings.database_url)
    if settings.database_url and store.count_titles():
        store.close_all()
        raise DemoError(f"the database {store.db.path} already holds a catalog; give the demo "
                        "an empty database")
    # The data directory remembers the settings it was made with: the server started here
    # and every later command on it (`log export`, `serve`, the studio's replay) use them.
    remember_settings(data_dir, {"policy": settings.policy, "floor": settings.floor,
                                 "seed": settings.seed, "reward_window": settings.reward_window,
                                 "learn_interval": 0.25, "snapshot_every": 300})
    titles = build_catalog(store, settings, out / "variants")
    world = demo_world(store, titles, settings)
    server_settings = {"token": TOKEN}
    if settings.database_url:
        server_settings["database_url"] = settings.database_url
    with open(out / "server.log", "w") as server_log:
        try:
            server = ServerProcess(data_dir, settings=server_settings, port=settings.port,
                                   output=server_log)
        except ServerStartError as exc:
            raise DemoError(f"{exc}; see {out / 'server.log'}") from None
    try:
        echo(f"server on {server.url} (gunicorn, learner in process, policy {settings.policy})")
        traffic = drive_traffic(server.url, world, titles, settings)
        time.sleep(settings.reward_window + 1.0)  # let the last reward windows close and learn
        health = requests.get(server.url + "/healthz", timeout=10).json()
    finally:
        server.stop()
    offline = offline_replay(store, traffic, titles, out, settings.reward_window)
    plots = _plots(traffic, offline, out)
    half = slice(len(traffic.served) // 2, None)
    online = {name: float(np.mean(getattr(traffic, name)[half]))
              for name in ("served", "uniform", "default", "static", "oracle")}
    summary = {
        "decisions": settings.decisions, "titles": [t.id for t in titles],
        "artworks": sum(len(t.artworks) for t in titles),
        "model_version": health["model_version"], "policy": settings.policy,
        "online_second_half": online,
        "plays_measured": int(sum(traffic.plays)),
        "offline": offline, "plots": [str(p) for p in plots],
        "seconds": round(time.monotonic() - started, 1),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    _print_summary(summary, out, data_dir, echo)
    return summary


def headroom_share(online: dict[str, float], baseline: str) -> float:
    """The share of the headroom from `baseline` to the oracle that the served policy captured."""
    headroom = online["oracle"] - online[baseline]
    return (online["served"] - online[baseline]) / headroom if headroom > 0 else float("nan")


def _print_summary(summary: dict[str, Any], out: Path, data_dir: Path,
                   echo: Callable[[str], None]) -> None:
    online = summary["online_second_half"]
    n = summary["decisions"]
    echo("")
    echo(f"Take rate over the last {n - n // 2} of {n} decisions (exact play probability "
         "from the world):")
    echo(f"  {'policy':<28} {'take rate':>9}")
    for label, key in (("learned policy (served)", "served"), ("uniform random", "uniform"),
                       ("default artwork", "default"), ("best static artwork", "static"),
                       ("oracle", "oracle")):
        echo(f"  {label:<28} {online[key]:>9.4f}")
    echo(f"  learned policy captures {headroom_share(online, 'static'):.0%} of the headroom from the "
         f"best static artwork to the oracle ({headroom_share(online, 'uniform'):.0%} of it from "
         "uniform); "
         f"model version {summary['model_version']}")
    echo("")
    echo("Offline replay of the logged decisions (95% intervals) next to the truth:")
    echo(f"  {'policy':<14} {'estimator':<8} {'estimate':>9} {'interval':>19} {'truth':>8}  covered")
    for r in summary["offline"]:
        interval = f"[{r['ci_low']:.4f}, {r['ci_high']:.4f}]"
        echo(f"  {r['policy']:<14} {r['estimator']:<8} {r['estimate']:>9.4f} {interval:>19} "
             f"{r['truth']:>8.4f}  {'yes' if r['covered'] else 'no'}")
    echo("")
    echo(f"Everything is in {out}:")
    echo(f"  plots          {', '.join(Path(p).name for p in summary['plots'])}")
    echo(f"  decision log   {out / 'decision-log.parquet'}")
    echo(f"  replay report  {data_dir / 'reports' / 'demo-replay'}")
    echo(f"  summary        {out / 'summary.json'} ({summary['seconds']} s)")
    echo("To browse the catalog and reports in the studio:")
    echo(f"  ARTBANDIT_TOKEN={TOKEN} artbandit --data-dir {data_dir} serve --port 8000")
    echo("  then open http://127.0.0.1:8000/studio and sign in with that token")
