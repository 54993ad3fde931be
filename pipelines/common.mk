# Shared rules of every study pipeline: split → base nets → jump shards →
# merged trajectories → PHATE embeddings → topology (→ report when the
# comparison stage lands).
# A study's Makefile sets nothing or overrides BASIN/PARAMS/OUT, then
# includes this file.
#
#   make -j2            run everything (resumes where a killed run stopped)
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
$(OUT)/params/plan.toml: $(PARAMS)
	$(BASIN) params --params $< --sections train,jump --out $@

# ---- the plan: nets and shards of the grid (a generated make fragment) ------
$(OUT)/plan.mk: $(OUT)/params/plan.toml
	$(BASIN) plan --params $< --out-dir $(OUT) --out $@
include $(OUT)/plan.mk

all: $(OUT)/runs.parquet $(RUNS:%=$(OUT)/trajectories/%.parquet) \
     $(RUNS:%=$(OUT)/embeddings/%.parquet) $(OUT)/embeddings-joint.parquet \
     $(RUNS:%=$(OUT)/topology/%.vr.parquet) $(RUNS:%=$(OUT)/topology/%.vr-cocycles.parquet) \
     $(RUNS:%=$(OUT)/topology/%.sublevel.parquet) \
     $(RUNS:%=$(OUT)/probes/%.naive.parquet) $(RUNS:%=$(OUT)/probes/%.grid.parquet) \
     $(RUNS:%=$(OUT)/landscape/%.hessian.parquet) $(OUT)/landscape/features.parquet \
     $(LANDSCAPE_RUNS:%=$(OUT)/landscape/%.surface.parquet) $(LANDSCAPE_RUNS:%=$(OUT)/landscape/%.path.parquet) \
     $(LANDSCAPE_RUNS:%=$(OUT)/landscape/%.surface-merge-tree.parquet) \
     $(if $(word 2,$(LANDSCAPE_RUNS)),$(OUT)/landscape/interp.parquet)

# ---- data split -------------------------------------------------------------
$(OUT)/split.parquet: $(OUT)/params/split.toml
	$(BASIN) data split --params $< --out $@

# ---- base nets: one checkpoint + one-row runs table per net -----------------
$(OUT)/nets/%.safetensors: $(OUT)/split.parquet $(OUT)/params/train.toml
	$(BASIN) train --params $(OUT)/params/train.toml --split $(OUT)/split.parquet \
	  --run $* --out $@ --run-table $(OUT)/nets/$*.run.parquet

$(OUT)/runs.parquet: $(RUNS:%=$(OUT)/nets/%.safetensors)
	$(BASIN) merge --schema runs --out $@ $(RUNS:%=$(OUT)/nets/%.run.parquet)

# ---- jump shards: net × seed × step, one file each (make -j runs them in
# parallel; the checkpoint dependency of each shard comes from plan.mk) -------
$(OUT)/jumps/%.parquet: $(OUT)/split.parquet $(OUT)/params/jump.toml
	$(BASIN) jump --params $(OUT)/params/jump.toml --split $(OUT)/split.parquet \
	  --checkpoint $(OUT)/nets/$(firstword $(subst __, ,$*)).safetensors --shard $* --out $@

# ---- merged trajectories, one file per net (its shards come from plan.mk) ---
$(OUT)/trajectories/%.parquet:
	$(BASIN) merge --schema trajectories --out $@ $^

# ---- PHATE: one embedding (+ potential distances) per net, and one joint ---
$(OUT)/embeddings/%.parquet $(OUT)/potential/%.parquet: $(OUT)/trajectories/%.parquet $(OUT)/params/phate.toml
	$(BASIN) phate --params $(OUT)/params/phate.toml --scope per-net \
	  --out $(OUT)/embeddings/$*.parquet --potential-out $(OUT)/potential/$*.parquet $<

$(OUT)/embeddings-joint.parquet: $(RUNS:%=$(OUT)/trajectories/%.parquet) $(OUT)/params/phate.toml
	$(BASIN) phate --params $(OUT)/params/phate.toml --scope joint --out $@ $(RUNS:%=$(OUT)/trajectories/%.parquet)

# ---- topology: Rips of each net's weights, sublevel sets of its loss -------
$(OUT)/topology/%.vr.parquet $(OUT)/topology/%.vr-features.parquet $(OUT)/topology/%.vr-cocycles.parquet: $(OUT)/trajectories/%.parquet $(OUT)/params/topo.toml
	$(BASIN) topo vr --params $(OUT)/params/topo.toml --out $(OUT)/topology/$*.vr.parquet \
	  --features-out $(OUT)/topology/$*.vr-features.parquet --cocycles-out $(OUT)/topology/$*.vr-cocycles.parquet $<

$(OUT)/topology/%.sublevel.parquet $(OUT)/topology/%.sublevel-features.parquet: $(OUT)/potential/%.parquet $(OUT)/trajectories/%.parquet $(OUT)/params/topo.toml
	$(BASIN) topo sublevel --params $(OUT)/params/topo.toml --potential $< --trajectories $(OUT)/trajectories/$*.parquet \
	  --out $(OUT)/topology/$*.sublevel.parquet --features-out $(OUT)/topology/$*.sublevel-features.parquet

# ---- landscape probes: the naive and grid baselines (Horoi et al. 2022 §4) -
$(OUT)/probes/%.naive.parquet: $(OUT)/trajectories/%.parquet $(OUT)/nets/%.safetensors $(OUT)/split.parquet $(OUT)/params/landscape.toml
	$(BASIN) landscape probe --method naive --params $(OUT)/params/landscape.toml --split $(OUT)/split.parquet \
	  --checkpoint $(OUT)/nets/$*.safetensors --run $* --trajectories $< --out $@

$(OUT)/probes/%.grid.parquet: $(OUT)/nets/%.safetensors $(OUT)/split.parquet $(OUT)/params/landscape.toml
	$(BASIN) landscape probe --method grid --params $(OUT)/params/landscape.toml --split $(OUT)/split.parquet \
	  --checkpoint $< --run $* --out $@

# ---- landscape: Hessian features of every net; surfaces, the PCA view of
# one jump trajectory and the interpolation between the good and the poor
# net ([landscape] good_run / poor_run) -----------------------------------
LANDSCAPE_RUNS := $(shell sed -n 's/^\(good\|poor\)_run *= *"\([^"]*\)".*/\2/p' $(PARAMS))
LANDSCAPE_NET = --params $(OUT)/params/landscape.toml --split $(OUT)/split.parquet --checkpoint $(OUT)/nets/$*.safetensors --run $*

$(OUT)/landscape/%.hessian.parquet $(OUT)/landscape/%.hessian-features.parquet: $(OUT)/nets/%.safetensors $(OUT)/split.parquet $(OUT)/params/landscape.toml
	$(BASIN) landscape hessian $(LANDSCAPE_NET) \
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

$(OUT)/landscape/interp.parquet: $(LANDSCAPE_RUNS:%=$(OUT)/nets/%.safetensors) $(OUT)/split.parquet $(OUT)/params/landscape.toml
	$(BASIN) landscape surface --kind interp --params $(OUT)/params/landscape.toml --split $(OUT)/split.parquet \
	  --checkpoint $(word 1,$(LANDSCAPE_RUNS:%=$(OUT)/nets/%.safetensors)) --run $(word 1,$(LANDSCAPE_RUNS)) \
	  --other $(word 2,$(LANDSCAPE_RUNS:%=$(OUT)/nets/%.safetensors)) --out $@ --figures $(OUT)/landscape/figures/interp

# ---- helpers ----------------------------------------------------------------
dry-run: $(OUT)/split.parquet $(OUT)/params/jump.toml
	$(BASIN) jump --dry-run --params $(OUT)/params/jump.toml --split $(OUT)/split.parquet --jobs 2

clean:
	rm -rf $(OUT)

.PHONY: all dry-run clean
