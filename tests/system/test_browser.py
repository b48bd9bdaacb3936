"""The Dagster UI as a user meets it, in headless Chromium: asset graph, one partition materialized by hand.

Starts `dagster dev` on a free loopback port against a copy of the sample inbox and a throwaway lake and
Dagster home, waits for the sample inbox to be ingested (by the inbox sensor, or launched here if the sensor
has not fired), then in the browser opens the global asset lineage, checks every asset is drawn, selects
`signatures`, clicks "Materialize selected", types one partition into the launch dialog, launches, follows the
toast to the run page and waits for the run to succeed; then checks the run and its materialization through
the GraphQL API, that no two lake-writing steps ever ran at once, and photographs the run and the graph.

Screenshots go to $NEWSLAKE_SCREENSHOTS if set (`NEWSLAKE_SCREENSHOTS=docs/screenshots pytest -m browser`
refreshes the README's), otherwise to the test's temporary folder.
Skips, saying why, when the playwright package or a Chromium executable is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import browser_support as bs  # tests/ is on sys.path (pytest's rootdir-relative test imports)
import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the test skips; see chromium_path
    expect = None

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PROJECT = Path(__file__).resolve().parents[2]
ASSETS = ("files", "documents", "rejects", "signatures", "duplicates", "sentences", "entities",
          "entity_daily")
ASSET, PARTITION = "signatures", "2026-11-24"  # a day the sample inbox has articles for
SERVER_READY_S = 180
INGEST_S = 150
RUN_S = 240
UI_S = 60  # any single UI wait (page load, dialog, toast)
IDLE_S = 120  # how long to let sensor-launched runs finish before the final screenshot
SENSOR_GRACE_S = 20  # how long to let the inbox sensor launch ingestion before launching it ourselves


@pytest.fixture
def chromium_path() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("browser test skipped: the Python package `playwright` is not installed")
    path = bs.find_chromium()
    if path is None:
        pytest.skip("browser test skipped: no Chromium executable (apt-get install chromium, "
                    "or point NEWSLAKE_CHROMIUM at one)")
    return path


@pytest.fixture
def page(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=bs.CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1920, "height": 900})
            # The "Join the Dagster community" dialog shows on localhost until dismissed once in the browser.
            context.add_init_script("window.localStorage.setItem('communityNux', JSON.stringify('1'))")
            context.set_default_timeout(UI_S * 1000)
            yield context.new_page()
        finally:
            browser.close()


@pytest.fixture
def dagster_ui(tmp_path, sample_inbox, lake_dir):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT / "assets" / "dagster.yaml", home / "dagster.yaml")
    env = {"DAGSTER_HOME": str(home), "NEWSLAKE_LAKE": str(lake_dir), "NEWSLAKE_INBOX": str(sample_inbox),
           "NEWSLAKE_INGEST_CONFIG": "",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT), os.environ.get("PYTHONPATH")]))}
    # Not the project root as working directory: `dagster dev` would load the project's .env, whose values
    # override ours (the repository's data/lake and data/inbox instead of the test's copies).
    workdir = tmp_path / "workdir"
    workdir.mkdir()
    with bs.DagsterDev(workspace=PROJECT / "workspace.yaml", cwd=workdir, env=env,
                       log_path=tmp_path / "dagster-dev.log") as dev:
        t0 = time.monotonic()
        dev.wait_ready(timeout=SERVER_READY_S)
        print(f"[browser test] dagster dev ready on {dev.url} in {time.monotonic() - t0:.1f}s")
        yield dev
        t0 = time.monotonic()
    print(f"[browser test] dagster dev stopped in {time.monotonic() - t0:.1f}s")


@pytest.fixture
def shots(tmp_path) -> Path:
    out = Path(os.environ.get("NEWSLAKE_SCREENSHOTS") or tmp_path / "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _ingested(url: str) -> dict:
    """Wait for a successful `ingest_job` run: the inbox sensor's, or one launched here if it never fires."""
    t0 = time.monotonic()
    launched = None
    while time.monotonic() - t0 < INGEST_S:
        ingest_runs = bs.runs(url, job="ingest_job")
        for r in ingest_runs:
            if r["status"] == "SUCCESS":
                return r
            assert r["status"] not in ("FAILURE", "CANCELED"), (
                f"ingest run {r['runId']} {r['status']}: {bs.run_failure_messages(url, r['runId'])}")
        if not ingest_runs and launched is None and time.monotonic() - t0 > SENSOR_GRACE_S:
            launched = bs.launch_job(url, "ingest_job")
        time.sleep(2)
    raise AssertionError(f"no successful ingest_job run after {INGEST_S}s: {bs.runs(url, job='ingest_job')}")


def _open_asset_graph(page, url: str):
    """The global asset lineage with every group expanded; returns the layer the asset nodes are drawn in."""
    page.goto(f"{url}/asset-groups")
    page.get_by_role("button", name=re.compile("Materialize all")).wait_for()
    nodes = page.locator("svg foreignObject")
    nodes.first.wait_for()
    settings = page.get_by_role("button", name="settings", exact=True)  # icon buttons are named by icon
    settings.click()
    toggle = page.get_by_role("menuitem", name=re.compile("(Expand|Collapse) all groups"))
    if "Expand" in toggle.inner_text():  # else already expanded: the choice persists in the browser
        toggle.click()
        expect(toggle).to_contain_text("Collapse")
    if toggle.is_visible():  # the menu stays open after a choice; its button closes it
        settings.click()
    expect(toggle).to_be_hidden()
    return nodes


def _launch_from_asset_page(page, url: str, asset: str, keys: list[str]) -> None:
    """Asset page → "Materialize…" → pick each partition in the dialog's selector → launch."""
    page.goto(f"{url}/assets/{asset}")
    page.get_by_role("button", name=re.compile("Materialize")).first.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text(f"Launch runs to materialize {asset}")).to_be_visible()
    dialog.locator("[class*='TagSelector_tagSelectorContainer']").click()
    for key in keys:
        page.keyboard.press("Control+A")
        page.keyboard.press("Backspace")
        page.keyboard.type(key)
        page.get_by_role("menuitem", name=re.compile(re.escape(key))).first.click()
    page.keyboard.press("Escape")
    n = len(keys)
    expect(dialog.get_by_text(f"{n} partition{'s' if n > 1 else ''}", exact=True)).to_be_visible()
    dialog.get_by_role("button", name=re.compile("^Launch")).click()


def _new_run(url: str, before: set[str]) -> str:
    deadline = time.monotonic() + UI_S
    while time.monotonic() < deadline:
        new = [r for r in bs.runs(url) if r["runId"] not in before
               and {"key": "dagster/from_ui", "value": "true"} in r["tags"]]
        if new:
            return new[0]["runId"]
        time.sleep(1)
    raise AssertionError("no run was launched from the dialog")


def _asset_node(nodes, name: str):
    """An asset's node (a group may carry the same name as its stage's asset: `sentences`, `entities`)."""
    return nodes.locator("[class*='AssetNode_assetName']").filter(has_text=re.compile(f"^{name}$"))


def _fit_graph_to_window(page) -> None:
    """More room for the graph: hide the navigation and the asset tree, then double-click to re-fit it."""
    # Buttons are named by their icon and text; the asset tree's "Hide sidebar" has only an icon.
    for name in (re.compile("Hide navigation"), "panel_show_right"):
        button = page.get_by_role("button", name=name, exact=isinstance(name, str))
        if button.count():
            button.click()
    width = page.viewport_size["width"]
    page.mouse.dblclick(width // 2, 160)  # empty canvas above the graph: "zoom to fit"
    page.mouse.move(0, 0)


def _screenshot(page, path: Path) -> None:
    page.mouse.move(0, 0)  # no hover tooltips; toasts stay while hovered
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(path))


class _Clock:
    """Prints how long each step took (shown by pytest when the test fails, or with -s)."""

    def __init__(self):
        self.t0 = self.last = time.monotonic()

    def __call__(self, step: str) -> None:
        now = time.monotonic()
        print(f"[browser test] {step}: {now - self.last:.1f}s (total {now - self.t0:.1f}s)")
        self.last = now


def test_materialize_one_partition_from_the_asset_graph(page, dagster_ui, shots, lake_dir):
    url, clock = dagster_ui.url, _Clock()
    _ingested(url)
    clock("sample inbox ingested")
    assert (lake_dir / "documents").is_dir(), "the server did not write the test's lake"

    # The asset graph reads like the product: every stage is drawn.
    nodes = _open_asset_graph(page, url)
    for name in ASSETS:
        expect(_asset_node(nodes, name)).to_be_visible()

    # On the asset's page, open the launch dialog, pick one partition, launch.
    runs_before = {r["runId"] for r in bs.runs(url)}
    _launch_from_asset_page(page, url, ASSET, [PARTITION])
    clock("graph checked, run launched from the dialog")
    run_id = _new_run(url, runs_before)
    page.goto(f"{url}/runs/{run_id}")

    # The sensor's run for the sample days may be in progress too: lake-writing steps take turns (one pool).
    final = bs.wait_for_run(url, run_id, timeout=RUN_S)
    clock(f"run {final['status']}")
    assert final["status"] == "SUCCESS", f"run {run_id}: {bs.run_failure_messages(url, run_id)}"
    tags = {t["key"]: t["value"] for t in final["tags"]}
    assert PARTITION in (tags.get("dagster/partition"), tags.get("dagster/asset_partition_range_start"))
    assert [a["path"] for a in final["assetSelection"]] == [[ASSET]]
    ours = [m for m in bs.partition_materializations(url, ASSET, PARTITION) if m["runId"] == run_id]
    assert ours, "the run recorded no materialization of the partition"
    # The partition's own figures are on the run's last materialization of it (assets/results.py).
    last = max(ours, key=lambda m: int(m.get("timestamp") or 0))
    rows = {e["label"]: e.get("intValue") for e in last["metadataEntries"]}.get("dagster/row_count")
    assert rows and rows > 0, f"no signatures written for {PARTITION}, a day with sample articles"
    # ... and the run page says so.
    expect(page.get_by_text("Success", exact=True).first).to_be_visible()
    expect(page.get_by_text(PARTITION).first).to_be_visible()
    _screenshot(page, shots / "run-success.png")

    # The graph again, roomier, with the stages' status and checks, for the README: after the sensor's runs
    # for the sample days, if they finish in reasonable time (only the picture depends on it).
    idle = bs.wait_until_idle(url, timeout=IDLE_S)
    clock("other runs finished" if idle else f"other runs still in progress after {IDLE_S}s")
    nodes = _open_asset_graph(page, url)
    _fit_graph_to_window(page)
    expect(nodes.get_by_text("Materialized").first).to_be_visible()  # detailed nodes, ingestion done
    _screenshot(page, shots / "asset-graph.png")
    clock(f"screenshots saved in {shots}")


def _materialized_by(home: Path, asset: str, key: str) -> list[str]:
    import dagster as dg

    inst = dg.DagsterInstance.from_config(str(home))
    try:
        recs = inst.fetch_materializations(dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset),
                                                                 asset_partitions=[key]), limit=50).records
        return [r.run_id for r in recs]
    finally:
        inst.dispose()


def _check_results(home: Path, asset: str, check: str) -> dict[str, bool]:
    """Latest evaluation of a check per partition, from the instance the UI reads."""
    import dagster as dg

    inst = dg.DagsterInstance.from_config(str(home))
    try:
        out: dict[str, bool] = {}
        records = inst.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey(asset), check), limit=200)
        for rec in sorted(records, key=lambda r: r.id):
            if rec.status.value in ("SUCCEEDED", "FAILED"):
                out[rec.partition] = rec.status.value == "SUCCEEDED"
        return out
    finally:
        inst.dispose()


def test_partitions_are_the_days_with_data_and_a_three_day_backfill_from_the_ui(page, dagster_ui, shots,
                                                                               tmp_path):
    url, clock, home = dagster_ui.url, _Clock(), tmp_path / "dagster_home"
    _ingested(url)
    days = ["2026-11-24", "2026-11-25", "2026-11-26"]
    # Partitions are the days with data plus `undated`: never 1970 to today.
    assert bs.partition_keys(url, "sentences") == [*days, "undated"]
    # The partitions sensor processes what ingestion wrote (it ticks every 30 s); then every partition shows its
    # own passed check.
    deadline, per_day = time.monotonic() + RUN_S, {}
    while time.monotonic() < deadline:
        per_day = _check_results(home, "duplicates", "every_document_clustered")
        if len(per_day) == len(days) + 1 and bs.wait_until_idle(url, timeout=5):
            break
        time.sleep(3)
    clock("sensor runs finished")
    assert per_day == dict.fromkeys([*days, "undated"], True), per_day
    sensor_runs = [r for r in bs.runs(url, job="daily_job")]
    assert len(sensor_runs) == 2, f"the sensor launched {len(sensor_runs)} daily runs, not one per range"
    runs_before = {r["runId"] for r in bs.runs(url)}

    # A user backfills three days of `sentences` from the asset page's launch dialog.
    _launch_from_asset_page(page, url, "sentences", days)
    clock("backfill launched")
    deadline = time.monotonic() + RUN_S
    new_runs: list[dict] = []
    while time.monotonic() < deadline:
        new_runs = [r for r in bs.runs(url) if r["runId"] not in runs_before and r.get("jobName") != "ingest_job"]
        if new_runs and all(r["status"] in bs.TERMINAL for r in new_runs) and bs.wait_until_idle(url, timeout=5):
            break
        time.sleep(3)
    assert new_runs and all(r["status"] == "SUCCESS" for r in new_runs), new_runs
    clock(f"{len(new_runs)} run(s) succeeded")
    # Exactly those days: the three partitions were rewritten by the new run(s), `undated` was not.
    ids = {r["runId"] for r in new_runs}
    for day in days:
        assert ids & set(_materialized_by(home, "sentences", day)), day
    assert not ids & set(_materialized_by(home, "sentences", "undated"))
    page.goto(f"{url}/assets/sentences?view=partitions")
    page.wait_for_load_state("networkidle")
    _screenshot(page, shots / "partitions.png")
