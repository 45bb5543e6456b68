# Shared data stage: the MUSDB18-HQ-layout corpus (synthetic, rendered, imported or read in place) and the
# stem stores every training and evaluation reads.


rule synth_corpus:
    output:
        directory(f"{RES}/corpus/musdb"),
    params:
        spec=lambda w: json.dumps(PLAN.job_spec("synth")),
    threads: JOB["prep_a"].threads
    resources:
        **JOB["prep_a"].resources,
    conda:
        ENV
    log:
        f"{RES}/logs/synth_corpus.log",
    shell:
        "python -m mixlab synth --out {output:q} --spec {params.spec:q} > {log:q} 2>&1"


rule render_corpus:
    # dataset=rendered: chorales arranged for a band, sampled instruments, a sung lead (mixlab/data/rendered.py)
    output:
        directory(f"{RES}/corpus/rendered"),
    params:
        spec=lambda w: json.dumps(PLAN.job_spec("render")),
    threads: JOB["prep_a"].threads
    resources:
        **JOB["prep_a"].resources,
    conda:
        ENV
    log:
        f"{RES}/logs/render_corpus.log",
    shell:
        "python -m mixlab render-corpus --out {output:q} --spec {params.spec:q} > {log:q} 2>&1"


rule import_musdb:
    # laptop scales on real MUSDB18-HQ: the songs they use, resampled to their rate (paper scale reads the tree)
    output:
        directory(f"{RES}/corpus/musdb18hq"),
    params:
        root=P["musdb_root"],
        spec=lambda w: json.dumps(PLAN.job_spec("import-musdb")),
    threads: JOB["prep_a"].threads
    resources:
        **JOB["prep_a"].resources,
    conda:
        ENV
    log:
        f"{RES}/logs/import_musdb.log",
    shell:
        "python -m mixlab import-musdb --root {params.root:q} --out {output:q} --spec {params.spec:q} > {log:q} 2>&1"


rule stem_store:
    input:
        corpus=corpus_root(),
    output:
        directory(f"{RES}/store/{{split}}"),
    params:
        spec=json.dumps(PLAN.job_spec("store")),
    threads: JOB["prep_a"].threads
    resources:
        **JOB["prep_a"].resources,
    conda:
        ENV
    log:
        f"{RES}/logs/stem_store_{{split}}.log",
    shell:
        "python -m mixlab store --root {input.corpus:q} --split {wildcards.split} --out {output:q}"
        " --spec {params.spec:q} > {log:q} 2>&1"
