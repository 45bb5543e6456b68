# Paper A (random mixing, TFC-TDF-UNet v3): its training runs, its test-set and training-store
# variants, Fig. 2's curves, Figs. 1-5 and Table 1 under results/<run>/. Which models: PLAN (mixlab/plan.py).


PAPER_A = [f"{RES}/fig{i}.pdf" for i in range(1, 6)] + [f"{RES}/table1.{x}" for x in ("md", "csv", "tex")]
PAPER_A += [f"{RES}/effects_a.md"]
FIG1_P = PLAN.fig1_p
FIG1_MODELS = PLAN.fig1_models
FIG2_P = PLAN.fig2_p
EXPERIMENT_MODELS = PLAN.models
FIG4_ROWS = PLAN.fig4_rows()


rule train:
    wildcard_constraints:
        exp=r"fig[0-9][a-z]?|table1",
    input:
        stores=lambda w: train_stores(w.exp, w.model),
    output:
        model=f"{RES}/models/{{exp}}/{{model}}.pt",
        snapshots=directory(f"{RES}/models/{{exp}}/{{model}}.snapshots"),
        history=f"{RES}/models/{{exp}}/{{model}}.history.csv",
    params:
        spec=lambda w: json.dumps(train_job(w.exp, w.model)),
        resume=lambda w: f"{RES}/resume/{w.exp}/{w.model}",
        device=job_device("train"),
        # threads per process: one process per GPU when the job has several
        threads=lambda w, threads: max(1, threads // max(1, job_class("train")["gpu"])),
    threads: job_threads("train", "a")
    resources:
        **job_resources("train", "a"),
    conda:
        ENV
    log:
        f"{RES}/logs/train/{{exp}}/{{model}}.log",
    shell:
        "python -m mixlab launch --gpus {resources.gpu} -- python -m mixlab train --spec {params.spec:q} --out {output.model:q}"
        " --snapshots {output.snapshots:q} --resume-dir {params.resume:q} --device {params.device}"
        " --threads {params.threads} >> {log:q} 2>&1"


rule shifted_testset:
    input:
        corpus=corpus_root(),
    output:
        directory(f"{RES}/testsets/{{kind}}{{value}}_s{{seed}}"),
    params:
        sample_rate=P["sample_rate"],
    threads: job_threads("prep", "a")
    resources:
        **job_resources("prep", "a"),
    conda:
        ENV
    log:
        f"{RES}/logs/testsets/{{kind}}{{value}}_s{{seed}}.log",
    shell:
        "python -m mixlab shift-testset --root {input.corpus:q} --out {output:q} --kind {wildcards.kind}"
        " --value {wildcards.value} --seed {wildcards.seed} --sample-rate {params.sample_rate} > {log:q} 2>&1"


rule pitch_bank:
    input:
        store=f"{RES}/store/{{base}}",
    output:
        directory(f"{RES}/store/{{base}}_pitch{{semitones}}"),
    threads: job_threads("prep", "a")
    resources:
        **job_resources("prep", "a"),
    conda:
        ENV
    log:
        f"{RES}/logs/pitch_bank/{{base}}{{semitones}}.log",
    shell:
        "python -m mixlab pitch-bank --store {input.store:q} --semitones {wildcards.semitones} --out {output:q} > {log:q} 2>&1"


rule song_level_store:
    input:
        store=f"{RES}/store/train",
    output:
        directory(f"{RES}/store/table1_{{level}}_s{{seed}}"),
    params:
        n_songs=lambda w: [] if P["table1"]["n_songs"] is None else ["--n-songs", P["table1"]["n_songs"]],
    threads: job_threads("prep", "a")
    resources:
        **job_resources("prep", "a"),
    conda:
        ENV
    log:
        f"{RES}/logs/song_level/{{level}}_s{{seed}}.log",
    shell:
        "python -m mixlab song-level-store --store {input.store:q} --kind {wildcards.level} --seed {wildcards.seed}"
        " {params.n_songs:q} --out {output:q} > {log:q} 2>&1"


rule eval_set:
    input:
        store=f"{RES}/store/{{split}}",
    output:
        f"{RES}/evalsets/{{split}}.csv",
    params:
        chunk=lambda w: chunk_samples(),
        seeds=P["fig2"]["seeds"],
        max_chunks=lambda w: [] if P["fig2"]["max_chunks"] is None else ["--max-chunks", P["fig2"]["max_chunks"]],
    threads: job_threads("light", "a")
    resources:
        **job_resources("light", "a"),
    conda:
        ENV
    log:
        f"{RES}/logs/evalset/{{split}}.log",
    shell:
        "python -m mixlab evalset --store {input.store:q} --chunk {params.chunk} --seeds {params.seeds}"
        " {params.max_chunks:q} --out {output:q} > {log:q} 2>&1"


rule training_curve:
    input:
        snapshots=f"{RES}/models/fig1/p{{p}}.snapshots",
        stores=[f"{RES}/store/train", f"{RES}/store/valid"],
        sets=[f"{RES}/evalsets/train.csv", f"{RES}/evalsets/valid.csv"],
    output:
        f"{RES}/curves/fig2/p{{p}}.csv",
    params:
        device=job_device("infer"),
    threads: job_threads("infer", "a")
    resources:
        **job_resources("infer", "a"),
    conda:
        ENV
    log:
        f"{RES}/logs/curve/fig2/p{{p}}.log",
    shell:
        "python -m mixlab curve --snapshots {input.snapshots:q} --splits train valid --stores {input.stores:q}"
        " --sets {input.sets:q} --device {params.device} --threads {threads} --out {output:q} > {log:q} 2>&1"


rule fig1:
    input:
        tables=[f"{RES}/scores/test/fig1/{m}.csv" for _, _, m in FIG1_MODELS],
        crosscheck=crosscheck_input("fig1"),
    output:
        pdf=report(f"{RES}/fig1.pdf", caption="../report/fig1.rst", category="Paper A"),
        csv=f"{RES}/fig1.csv",
        png=f"{RES}/fig1.png",
        md=f"{RES}/fig1.md",
    params:
        p=[p for p, _, _ in FIG1_MODELS],
        seeds=[seed for _, seed, _ in FIG1_MODELS],
        caption=PLAN.caption("fig1"),
    threads: job_threads("light", "a")
    resources:
        **job_resources("light", "a"),
    conda:
        ENV
    log:
        f"{RES}/logs/fig1.log",
    shell:
        "python -m mixlab fig1 --p {params.p} --seeds {params.seeds} --tables {input.tables:q} --out {output.pdf:q}"
        " --caption {params.caption:q} > {log:q} 2>&1"


rule fig2:
    input:
        curves=expand(f"{RES}/curves/fig2/p{{p}}.csv", p=FIG2_P),
    output:
        pdf=report(f"{RES}/fig2.pdf", caption="../report/fig2.rst", category="Paper A"),
        csv=f"{RES}/fig2.csv",
        png=f"{RES}/fig2.png",
        md=f"{RES}/fig2.md",
    params:
        p=FIG2_P,
        caption=PLAN.caption("fig2"),
    threads: job_threads("light", "a")
    resources:
        **job_resources("light", "a"),
    conda:
        ENV
    log:
        f"{RES}/logs/fig2.log",
    shell:
        "python -m mixlab fig2 --p {params.p} --curves {input.curves:q} --out {output.pdf:q}"
        " --caption {params.caption:q} > {log:q} 2>&1"


rule fig3:
    input:
        tables=expand(f"{RES}/scores/test/fig3/{{model}}.csv", model=EXPERIMENT_MODELS.get("fig3", [])),
        crosscheck=crosscheck_input("fig3"),
    output:
        pdf=report(f"{RES}/fig3.pdf", caption="../report/fig3.rst", category="Paper A"),
        csv=f"{RES}/fig3.csv",
        png=f"{RES}/fig3.png",
        md=f"{RES}/fig3.md",
    params:
        models=EXPERIMENT_MODELS.get("fig3", []),
        examples=P["train"]["steps"] * P["train"]["batch_size"],
        songs=len(tracks("train")),
        caption=PLAN.caption("fig3"),
    threads: job_threads("light", "a")
    resources:
        **job_resources("light", "a"),
    conda:
        ENV
    log:
        f"{RES}/logs/fig3.log",
    shell:
        "python -m mixlab fig3 --models {params.models:q} --tables {input.tables:q} --out {output.pdf:q}"
        " --examples {params.examples} --songs {params.songs}"
        " --caption {params.caption:q} > {log:q} 2>&1"


rule fig4:
    input:
        tables=[f"{RES}/scores/{ts}/fig1/{m}.csv" for _, ts, m in FIG4_ROWS],
    output:
        pdf=report(f"{RES}/fig4.pdf", caption="../report/fig4.rst", category="Paper A"),
        csv=f"{RES}/fig4.csv",
        png=f"{RES}/fig4.png",
        md=f"{RES}/fig4.md",
    params:
        rows=json.dumps([labels for labels, _, _ in FIG4_ROWS]),
        caption=PLAN.caption("fig4"),
    threads: job_threads("light", "a")
    resources:
        **job_resources("light", "a"),
    conda:
        ENV
    log:
        f"{RES}/logs/fig4.log",
    shell:
        "python -m mixlab shift-figure --figure 4 --rows {params.rows:q} --tables {input.tables:q} --out {output.pdf:q}"
        " --caption {params.caption:q} > {log:q} 2>&1"


rule fig5:
    input:
        tables=[f"{RES}/scores/test/{exp}/{m}.csv" for _, exp, m in PLAN.fig5_rows()],
    output:
        pdf=report(f"{RES}/fig5.pdf", caption="../report/fig5.rst", category="Paper A"),
        csv=f"{RES}/fig5.csv",
        png=f"{RES}/fig5.png",
        md=f"{RES}/fig5.md",
    params:
        rows=json.dumps([labels for labels, _, _ in PLAN.fig5_rows()]),
        caption=PLAN.caption("fig5"),
    threads: job_threads("light", "a")
    resources:
        **job_resources("light", "a"),
    conda:
        ENV
    log:
        f"{RES}/logs/fig5.log",
    shell:
        "python -m mixlab shift-figure --figure 5 --rows {params.rows:q} --tables {input.tables:q} --out {output.pdf:q}"
        " --caption {params.caption:q} > {log:q} 2>&1"


rule table1:
    input:
        tables=expand(f"{RES}/scores/test/table1/{{model}}.csv", model=EXPERIMENT_MODELS["table1"]),
    output:
        md=f"{RES}/table1.md",
        csv=report(f"{RES}/table1.csv", caption="../report/table1.rst", category="Paper A"),
        tex=f"{RES}/table1.tex",
    params:
        models=EXPERIMENT_MODELS["table1"],
        caption=PLAN.caption("table1"),
    threads: job_threads("light", "a")
    resources:
        **job_resources("light", "a"),
    conda:
        ENV
    log:
        f"{RES}/logs/table1.log",
    shell:
        "python -m mixlab table1 --models {params.models:q} --tables {input.tables:q} --out {output.md:q}"
        " --caption {params.caption:q} > {log:q} 2>&1"


rule effects_a:
    input:
        **{f"fig{i}": f"{RES}/fig{i}.csv" for i in range(1, 6)},
        table1=f"{RES}/table1.csv",
    output:
        f"{RES}/effects_a.md",
    params:
        caption=PLAN.caption("effects_a"),
    threads: job_threads("light", "a")
    resources:
        **job_resources("light", "a"),
    conda:
        ENV
    log:
        f"{RES}/logs/effects_a.log",
    shell:
        "python -m mixlab effects --fig1 {input.fig1:q} --fig2 {input.fig2:q} --fig3 {input.fig3:q} --fig4 {input.fig4:q}"
        " --fig5 {input.fig5:q} --table1 {input.table1:q} --out {output:q} --caption {params.caption:q} > {log:q} 2>&1"


rule paper_a:
    input:
        PAPER_A,
        shortcuts(PAPER_A),
