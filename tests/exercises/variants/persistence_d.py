"""03_persistence, Part D: repair a torn AOF.

Wrong answers the hidden tests must reject, and correct answers written differently.
"""

from __future__ import annotations

from tests.exercises.exercise_runner import Variant
from tests.exercises.variants import cells

D = cells("part-d")

REPAIR_THROUGH_THE_MANIFEST = """
def repair_aof(server):
    before = {path.name: path.stat().st_size for path in aof_dir(server).iterdir()}
    tool = str(server.binaries.tool("redis-check-aof"))
    report = subprocess.run([tool, "--fix", str(manifest_path(server))], input="y\\n",
                            capture_output=True, text=True, check=True).stdout
    name = Path(re.search(r"Successfully truncated AOF (\\S+)", report).group(1)).name
    removed = before[name] - (aof_dir(server) / name).stat().st_size
    server.start()
    return {"file": name, "bytes_removed": removed, "keys": server.client().dbsize()}
"""

MUTANTS = [
    Variant(
        "newest increment by sorting file names",
        *D,
        replace=(
            (
                '    increments = [entry for entry in read_manifest(manifest_path(server)) if entry.kind == "incr"]\n'
                "    current = max(increments, key=lambda entry: entry.seq)\n",
                '    current = sorted(aof_dir(server).glob("*.incr.aof"))[-1]\n',
            ),
        ),
    ),
    Variant(
        "the largest file of the AOF directory",
        *D,
        replace=(
            (
                '    increments = [entry for entry in read_manifest(manifest_path(server)) if entry.kind == "incr"]\n'
                "    current = max(increments, key=lambda entry: entry.seq)\n",
                "    current = max(aof_dir(server).iterdir(), key=lambda p: p.stat().st_size)\n",
            ),
        ),
    ),
    Variant("the base file", *D, replace=(('if entry.kind == "incr"]', 'if entry.kind == "base"]'),)),
    Variant(
        "default AOF names assumed",
        *D,
        replace=(
            (
                "read_manifest(manifest_path(server))",
                'read_manifest(server.dir / "appendonlydir" / "appendonly.aof.manifest")',
            ),
            ("path = aof_dir(server) / current.name", 'path = server.dir / "appendonlydir" / current.name'),
        ),
    ),
    Variant(
        "loads with aof-load-truncated yes instead of repairing",
        *D,
        replace=(
            (
                '    result = subprocess.run([str(check_aof), "--fix", str(path)], input="y\\n", capture_output=True,\n'
                "                            text=True, timeout=60)\n"
                "    if result.returncode != 0:\n"
                '        raise RuntimeError(f"redis-check-aof could not fix {current.name}:\\n{result.stdout}{result.stderr}")\n'
                "    removed = size - path.stat().st_size\n"
                "    server.start()\n",
                '    server.config["aof-load-truncated"] = True\n'
                "    server.start()\n"
                "    removed = size - path.stat().st_size\n",
            ),
        ),
    ),
    Variant(
        "bytes_removed is the new size",
        *D,
        replace=(("    removed = size - path.stat().st_size\n", "    removed = path.stat().st_size\n"),),
    ),
]

ALTERNATIVES = [
    Variant(
        "redis-check-aof on the manifest, file name from its report", *D, source=REPAIR_THROUGH_THE_MANIFEST
    ),
]
