# Shared rules of every study pipeline: split → base nets → jump shards →
# merged trajectories → PHATE embeddings → topology (→ report when the
# comparison stage lands).
# A study's Makefile sets nothing or overrides BASIN/PARAMS/OUT, then
# includes this file.
#
#   make -j2            run everything (resumes where a killed run stopped)
#   make -j64 LAUNCH=slurm
#                       the same, each heavy recipe through `srun` with the
#                       resources of params.toml's [cluster] (README, "On a
#                       SLURM cluster"); `basin submit` needs no make running
#   make dry-run        shard count and time estimate
#   make clean          remove out/
#
# Every target is a file. Each stage reads a per-stage extract of params.toml
# (out/params/<stage>.toml) that `basin params` rewrites only when the
# sections it holds change, so editing [jump] reruns the jumps but not the
# base nets.

BASIN ?= basin
PARAMS := params.toml
OUT := out

.DELETE_ON_ERROR:
.SECONDARY:

# The default goal; its prerequisites follow the plan, below.
all:

# ---- per-stage params -------------------------------------------------------
$(OUT)/params/split.toml: $(PARAMS)
	$(BASIN) params --params $< --sections data --out $@
$(OUT)/params/train.toml: $(PARAMS)
	$(BASIN) params --params $< --sections data,train --out $@
$(OUT)/params/jump.toml: $(PARAMS)
	$(BASIN) params --params $< --sections data,train,jump --out $@
$(OUT)/params/phate.toml: $(PARAMS)
	$(BASIN) params --params $< --sections phate --out $@
$(OUT)/params/topo.toml: $(PARAMS)
	$(BASIN) params --params $< --sections topo --out $@
$(OUT)/params/landscape.toml: $(PARAMS)
	$(BASIN) params --params $< --sections data,train,landscape --out $@
$(OUT)/params/compare.toml: $(PARAMS)
	$(BASIN) params --params $< --sections compare --out $@
$(OUT)/params/plan.toml: $(PARAMS)
	$(BASIN) params --params $< --sections train,jump --out $@

# ---- launcher ---------------------------------------------------------------
# Heavy recipes (train, jump, PHATE, topology) start with $(LAUNCH_<stage>)
# and end with $(DEVICE_<stage>): both empty here, so they run locally.
# LAUNCH=slurm includes a fragment, made by `basin launcher` from [cluster],
# that sets them to `srun …` and `--device cuda` (for stages given GPUs).
# Only that fragment reads [cluster], so editing it reruns no stage.
LAUNCH ?=
ifeq ($(LAUNCH),slurm)
$(OUT)/slurm/launch.mk: $(PARAMS)
	$(BASIN) launcher --params $< --out $@
ifneq ($(MAKECMDGOALS),clean)
include $(OUT)/slurm/launch.mk
endif
else ifneq ($(LAUNCH),)
$(error LAUNCH=$(LAUNCH): expected LAUNCH=slurm, or no LAUNCH to run locally)
endif
# DEVICE=cuda (with a basin built with `--features cuda`) trains and jumps on
# the GPU when running locally; on SLURM the [cluster] GPUs decide.
DEVICE ?=
ifneq ($(DEVICE),)
DEVICE_train ?= --device $(DEVICE)
DEVICE_jump ?= --device $(DEVICE)
endif

# ---- the plan: nets and shards of the grid (a generated make fragment) ------
$(OUT)/plan.mk: $(OUT)/params/plan.toml
	$(BASIN) plan --params $< --out-dir $(OUT) --out $@
# `make clean` must not first build the plan it is about to delete (make
# remakes included files before any goal, which needs a basin binary).
ifneq ($(MAKECMDGOALS),clean)
include $(OUT)/plan.mk
endif

# The good and the poor net of [landscape] (good_run / poor_run), whose
# surfaces, paths and interpolation the landscape rules draw. Set before
# `all`, whose prerequisites are expanded as the rule is read.
LANDSCAPE_RUNS := $(shell sed -n 's/^\(good\|poor\)_run *= *"\([^"]*\)".*/\2/p' $(PARAMS))

all: $(OUT)/runs.parquet $(RUNS:%=$(OUT)/trajectories/%.parquet) \
     $(RUNS:%=$(OUT)/embeddings/%.parquet) $(OUT)/embeddings-joint.parquet \
     $(RUNS:%=$(OUT)/topology/%.vr.parquet) $(RUNS:%=$(OUT)/topology/%.vr-cocycles.parquet) $(RUNS:%=$(OUT)/topology/%.vr-cycles.parquet) \
     $(RUNS:%=$(OUT)/topology/%.sublevel.parquet) \
     $(RUNS:%=$(OUT)/probes/%.naive.parquet) $(RUNS:%=$(OUT)/probes/%.grid.parquet) \
     $(OUT)/compare/classifiers.parquet $(OUT)/report/report.html \
     $(RUNS:%=$(OUT)/landscape/%.hessian.parquet) $(OUT)/landscape/features.parquet \
     $(LANDSCAPE_RUNS:%=$(OUT)/landscape/%.surface.parquet) $(LANDSCAPE_RUNS:%=$(OUT)/landscape/%.path.parquet) \
     $(LANDSCAPE_RUNS:%=$(OUT)/landscape/%.surface-merge-tree.parquet) \
     $(LANDSCAPE_RUNS:%=$(OUT)/landscape/%.base-path.parquet) \
     $(if $(word 2,$(LANDSCAPE_RUNS)),$(OUT)/landscape/interp.parquet)

# ---- data split -------------------------------------------------------------
$(OUT)/split.parquet: $(OUT)/params/split.toml
	$(BASIN) data split --params $< --out $@

# ---- base nets: one checkpoint + one-row runs table per net -----------------
$(OUT)/nets/%.safetensors: $(OUT)/split.parquet $(OUT)/params/train.toml
	$(LAUNCH_train) $(BASIN) train --params $(OUT)/params/train.toml --split $(OUT)/split.parquet \
	  --run $* --out $@ --run-table $(OUT)/nets/$*.run.parquet $(DEVICE_train)

$(OUT)/runs.parquet: $(RUNS:%=$(OUT)/nets/%.safetensors)
	$(BASIN) merge --schema runs --out $@ $(RUNS:%=$(OUT)/nets/%.run.parquet)

# ---- jump shards: net × seed × step, one file each (make -j runs them in
# parallel; the checkpoint dependency of each shard comes from plan.mk) -------
$(OUT)/jumps/%.parquet: $(OUT)/split.parquet $(OUT)/params/jump.toml
	$(LAUNCH_jump) $(BASIN) jump --params $(OUT)/params/jump.toml --split $(OUT)/split.parquet \
	  --checkpoint $(OUT)/nets/$(firstword $(subst __, ,$*)).safetensors --shard $* --out $@ $(DEVICE_jump)

# ---- merged trajectories, one file per net (its shards come from plan.mk) ---
$(OUT)/trajectories/%.parquet:
	$(BASIN) merge --schema trajectories --out $@ $^

# ---- PHATE: one embedding (+ potential distances) per net, and one joint ---
$(OUT)/embeddings/%.parquet $(OUT)/potential/%.parquet: $(OUT)/trajectories/%.parquet $(OUT)/params/phate.toml
	$(LAUNCH_phate) $(BASIN) phate --params $(OUT)/params/phate.toml --scope per-net \
	  --out $(OUT)/embeddings/$*.parquet --potential-out $(OUT)/potential/$*.parquet $<

$(OUT)/embeddings-joint.parquet: $(RUNS:%=$(OUT)/trajectories/%.parquet) $(OUT)/params/phate.toml
	$(LAUNCH_phate) $(BASIN) phate --params $(OUT)/params/phate.toml --scope joint --out $@ $(RUNS:%=$(OUT)/trajectories/%.parquet)

# ---- topology: Rips of each net's weights, sublevel sets of its loss -------
$(OUT)/topology/%.vr.parquet $(OUT)/topology/%.vr-features.parquet $(OUT)/topology/%.vr-cocycles.parquet $(OUT)/topology/%.vr-cycles.parquet: $(OUT)/trajectories/%.parquet $(OUT)/params/topo.toml
	$(LAUNCH_topo) $(BASIN) topo vr --params $(OUT)/params/topo.toml --out $(OUT)/topology/$*.vr.parquet \
	  --features-out $(OUT)/topology/$*.vr-features.parquet --cocycles-out $(OUT)/topology/$*.vr-cocycles.parquet \
	  --cycles-out $(OUT)/topology/$*.vr-cycles.parquet $<

$(OUT)/topology/%.sublevel.parquet $(OUT)/topology/%.sublevel-features.parquet: $(OUT)/potential/%.parquet $(OUT)/trajectories/%.parquet $(OUT)/params/topo.toml
	$(LAUNCH_topo) $(BASIN) topo sublevel --params $(OUT)/params/topo.toml --potential $< --trajectories $(OUT)/trajectories/$*.parquet \
	  --out $(OUT)/topology/$*.sublevel.parquet --features-out $(OUT)/topology/$*.sublevel-features.parquet

# ---- landscape probes: the naive and grid baselines (Horoi et al. 2022 §4) -
$(OUT)/probes/%.naive.parquet: $(OUT)/trajectories/%.parquet $(OUT)/nets/%.safetensors $(OUT)/split.parquet $(OUT)/params/landscape.toml
	$(BASIN) landscape probe --method naive --params $(OUT)/params/landscape.toml --split $(OUT)/split.parquet \
	  --checkpoint $(OUT)/nets/$*.safetensors --run $* --trajectories $< --out $@

$(OUT)/probes/%.grid.parquet: $(OUT)/nets/%.safetensors $(OUT)/split.parquet $(OUT)/params/landscape.toml
	$(BASIN) landscape probe --method grid --params $(OUT)/params/landscape.toml --split $(OUT)/split.parquet \
	  --checkpoint $< --run $* --out $@

# ---- comparison: features per net, statistics, classifiers, report --------
TRAJECTORIES := $(RUNS:%=$(OUT)/trajectories/%.parquet)
EMBEDDINGS := $(RUNS:%=$(OUT)/embeddings/%.parquet)
POTENTIALS := $(RUNS:%=$(OUT)/potential/%.parquet)
PROBES := $(RUNS:%=$(OUT)/probes/%.naive.parquet) $(RUNS:%=$(OUT)/probes/%.grid.parquet)
TOPO_FEATURES := $(RUNS:%=$(OUT)/topology/%.sublevel-features.parquet) $(RUNS:%=$(OUT)/topology/%.vr-features.parquet)

$(OUT)/compare/features.parquet: $(TRAJECTORIES) $(EMBEDDINGS) $(POTENTIALS) $(PROBES) $(TOPO_FEATURES) $(OUT)/landscape/features.parquet
	$(BASIN) compare features --out $@ --trajectories $(TRAJECTORIES) --embeddings $(EMBEDDINGS) \
	  --potential $(POTENTIALS) --probes $(PROBES) --include $(TOPO_FEATURES) $(OUT)/landscape/features.parquet

$(OUT)/compare/classifiers.parquet $(OUT)/compare/correlations.parquet $(OUT)/compare/stratified_correlations.parquet &: $(OUT)/compare/features.parquet $(OUT)/runs.parquet $(OUT)/params/compare.toml
	$(BASIN) compare analyse --params $(OUT)/params/compare.toml --runs $(OUT)/runs.parquet --features $< \
	  --out-classifiers $(OUT)/compare/classifiers.parquet --out-correlations $(OUT)/compare/correlations.parquet \
	  --out-stratified $(OUT)/compare/stratified_correlations.parquet

$(OUT)/report/report.html $(OUT)/report/report.md &: $(OUT)/compare/classifiers.parquet $(OUT)/compare/correlations.parquet $(OUT)/compare/stratified_correlations.parquet $(OUT)/params/compare.toml
	$(BASIN) report --params $(OUT)/params/compare.toml --out-dir $(OUT)/report --runs $(OUT)/runs.parquet \
	  --features $(OUT)/compare/features.parquet --classifiers $(OUT)/compare/classifiers.parquet \
	  --correlations $(OUT)/compare/correlations.parquet --stratified $(OUT)/compare/stratified_correlations.parquet --trajectories $(TRAJECTORIES) --embeddings $(EMBEDDINGS) \
	  --sublevel $(RUNS:%=$(OUT)/topology/%.sublevel.parquet) --rips $(RUNS:%=$(OUT)/topology/%.vr.parquet)
# ---- landscape: Hessian features of every net; surfaces, the PCA view of
# one jump trajectory and the interpolation between the good and the poor
# net ([landscape] good_run / poor_run) -----------------------------------
LANDSCAPE_NET = --params $(OUT)/params/landscape.toml --split $(OUT)/split.parquet --checkpoint $(OUT)/nets/$*.safetensors --run $*

# Exact Hessian-vector products (double backward) allocate and free large
# graphs every product: keeping freed memory committed (mimalloc's purge
# delay off) saves about a third of the time on CPU and changes no value.
$(OUT)/landscape/%.hessian.parquet $(OUT)/landscape/%.hessian-features.parquet: $(OUT)/nets/%.safetensors $(OUT)/split.parquet $(OUT)/params/landscape.toml
	MIMALLOC_PURGE_DELAY=-1 $(BASIN) landscape hessian $(LANDSCAPE_NET) \
	  --out $(OUT)/landscape/$*.hessian.parquet --features-out $(OUT)/landscape/$*.hessian-features.parquet \
	  --figures $(OUT)/landscape/figures/$*.hessian

# Merge tree of the training loss over each net's grid probes (3D grid graph).
$(OUT)/landscape/%.grid-merge-tree.parquet $(OUT)/landscape/%.grid-merge-tree-nodes.parquet $(OUT)/landscape/%.grid-merge-tree-features.parquet: $(OUT)/probes/%.grid.parquet
	$(BASIN) landscape merge-tree $< --out $(OUT)/landscape/$*.grid-merge-tree.parquet \
	  --tree-out $(OUT)/landscape/$*.grid-merge-tree-nodes.parquet --features-out $(OUT)/landscape/$*.grid-merge-tree-features.parquet

# All nets' landscape features in one file, for the comparison stage:
# Hessian (top_eigenvalue, min_eigenvalue, eig_ratio, trace, sharpness, loss,
# per layer) and the grid merge tree (merge_tree:n_minima, …).
$(OUT)/landscape/features.parquet: $(RUNS:%=$(OUT)/landscape/%.hessian.parquet) $(RUNS:%=$(OUT)/landscape/%.grid-merge-tree.parquet)
	$(BASIN) merge --schema features --out $@ $(RUNS:%=$(OUT)/landscape/%.hessian-features.parquet) \
	  $(RUNS:%=$(OUT)/landscape/%.grid-merge-tree-features.parquet)

# Merge tree of the 2D random surface of the good and the poor net.
$(OUT)/landscape/%.surface-merge-tree.parquet $(OUT)/landscape/%.surface-merge-tree-nodes.parquet: $(OUT)/landscape/%.surface.parquet
	$(BASIN) landscape merge-tree $< --out $(OUT)/landscape/$*.surface-merge-tree.parquet \
	  --tree-out $(OUT)/landscape/$*.surface-merge-tree-nodes.parquet --figures $(OUT)/landscape/figures/$*.surface-profile

$(OUT)/landscape/%.surface.parquet: $(OUT)/nets/%.safetensors $(OUT)/split.parquet $(OUT)/params/landscape.toml
	$(BASIN) landscape surface $(LANDSCAPE_NET) --out $@ \
	  --figures $(OUT)/landscape/figures/$*.surface --vtk $(OUT)/landscape/$*.surface.vtk --ply $(OUT)/landscape/$*.surface.ply

$(OUT)/landscape/%.path.parquet $(OUT)/landscape/%.pca-surface.parquet: $(OUT)/trajectories/%.parquet $(OUT)/nets/%.safetensors $(OUT)/split.parquet $(OUT)/params/landscape.toml
	$(BASIN) landscape path $(LANDSCAPE_NET) --trajectories $< \
	  --out $(OUT)/landscape/$*.pca-surface.parquet --path-out $(OUT)/landscape/$*.path.parquet \
	  --figures $(OUT)/landscape/figures/$*.path --vtk $(OUT)/landscape/$*.pca-surface.vtk

# The good and poor nets' own optimizer paths: each net trained again with
# its weights logged every epoch (training is seeded: the checkpoint is the
# same bytes as nets/%.safetensors), drawn on the plane of its PCA directions.
$(OUT)/landscape/%.base-trajectory.parquet: $(OUT)/split.parquet $(OUT)/params/train.toml
	$(LAUNCH_train) $(BASIN) train --params $(OUT)/params/train.toml --split $(OUT)/split.parquet --run $* \
	  --out $(OUT)/landscape/$*.base-net.safetensors --run-table $(OUT)/landscape/$*.base-run.parquet --trajectory-out $@ $(DEVICE_train)

$(OUT)/landscape/%.base-path.parquet $(OUT)/landscape/%.base-pca-surface.parquet: $(OUT)/landscape/%.base-trajectory.parquet $(OUT)/nets/%.safetensors $(OUT)/split.parquet $(OUT)/params/landscape.toml
	$(BASIN) landscape path $(LANDSCAPE_NET) --trajectories $< --base \
	  --out $(OUT)/landscape/$*.base-pca-surface.parquet --path-out $(OUT)/landscape/$*.base-path.parquet \
	  --figures $(OUT)/landscape/figures/$*.base-path

$(OUT)/landscape/interp.parquet: $(LANDSCAPE_RUNS:%=$(OUT)/nets/%.safetensors) $(OUT)/split.parquet $(OUT)/params/landscape.toml
	$(BASIN) landscape surface --kind interp --params $(OUT)/params/landscape.toml --split $(OUT)/split.parquet \
	  --checkpoint $(word 1,$(LANDSCAPE_RUNS:%=$(OUT)/nets/%.safetensors)) --run $(word 1,$(LANDSCAPE_RUNS)) \
	  --other $(word 2,$(LANDSCAPE_RUNS:%=$(OUT)/nets/%.safetensors)) --out $@ --figures $(OUT)/landscape/figures/interp

# ---- helpers ----------------------------------------------------------------
# What every job of `basin submit` needs first (light, run where it is called).
prepare: $(OUT)/split.parquet $(OUT)/params/train.toml $(OUT)/params/jump.toml \
         $(OUT)/params/phate.toml $(OUT)/params/topo.toml $(OUT)/plan.mk

dry-run: $(OUT)/split.parquet $(OUT)/params/jump.toml
	$(BASIN) jump --dry-run --params $(OUT)/params/jump.toml --split $(OUT)/split.parquet --jobs 2

clean:
	rm -rf $(OUT)

.PHONY: all prepare dry-run clean
