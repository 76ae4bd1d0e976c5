# Skill competence end to end on the smoke grid: /skills written with units and descriptions and
# values in range, analyze adds /analysis/skills and a Skills section with its figures.
. "$(dirname "$0")/lib.sh"

check "smoke run" run_np 2 run smoke -o s.h5
check "/skills has every dataset with units and description" /usr/bin/python3 - <<'PY'
import h5py, numpy as np, sys
f = h5py.File("s.h5")
g = f["skills"]
need = ["theta", "excess_kl", "top1", "topk", "competence", "skill_pieces", "frac_skills_above",
        "tuple_competence", "tuple_count", "tuple_values", "frac_tuples_above"]
ok = all(n in g and "units" in g[n].attrs and "description" in g[n].attrs for n in need)
done = f["grid/status"][:] == 1
S = f["language"].attrs["S"]
ok &= g["competence"].shape == (len(done), S)
th = g["theta"][:][done]
ok &= bool(np.all((th >= 0) & (th <= 1)))
c = g["competence"][:][done]
ok &= bool(np.all((c[np.isfinite(c)] >= 0) & (c[np.isfinite(c)] <= 1)))
# every held-out piece is counted once per skill: the counts sum to pieces x mean arity >= pieces
ok &= bool(np.all(g["skill_pieces"][:][done].sum(axis=1) >= g.attrs["pieces"]))
# the exact excess (KL) and the sampled excess loss agree within sampling error
ok &= bool(np.all(np.abs(g["excess_kl"][:][done] - f["cells/excess_loss"][:][done]) < 0.1))
sys.exit(0 if ok else 1)
PY
check "analyze" "$SL" analyze s.h5 -o rep --bootstrap 10
check "/analysis/skills written" sh -c "h5ls -r s.h5 | grep -q '^/analysis/skills/fit_compute'"
check "report has the Skills section" grep -q "## Skills: emergence" rep/report.md
check "skills figures drawn (or scripts written without gnuplot)" test -s rep/skills_compute.gp
finish
