# Shared data stage: the MUSDB18-HQ-layout corpus (synthetic, imported or read in place) and the
# stem stores every training and evaluation reads.


rule synth_corpus:
    output:
        directory(f"{RES}/corpus/musdb"),
    params:
        spec=lambda w: synth_spec(),
    threads: job_threads("prep", "a")
    resources:
        **job_resources("prep", "a"),
    conda:
        ENV
    log:
        f"{RES}/logs/synth_corpus.log",
    shell:
        "python -m mixlab synth --out {output:q} --seed {params.spec.seed} --sample-rate {params.spec.sample_rate}"
        " --n-train {params.spec.n_train} --n-valid {params.spec.n_valid} --n-test {params.spec.n_test}"
        " --min-seconds {params.spec.min_seconds} --max-seconds {params.spec.max_seconds} > {log:q} 2>&1"


rule import_musdb:
    # laptop scales on real MUSDB18-HQ: the songs they use, resampled to their rate (paper scale reads the tree)
    output:
        directory(f"{RES}/corpus/musdb18hq"),
    params:
        root=P["musdb_root"],
        sample_rate=P["sample_rate"],
        limits=musdb_limits() if P["dataset"] == "musdb" else [],
    threads: job_threads("prep", "a")
    resources:
        **job_resources("prep", "a"),
    conda:
        ENV
    log:
        f"{RES}/logs/import_musdb.log",
    shell:
        "python -m mixlab import-musdb --root {params.root:q} --out {output:q} --sample-rate {params.sample_rate}"
        " {params.limits:q} > {log:q} 2>&1"


rule stem_store:
    input:
        corpus=corpus_root(),
    output:
        directory(f"{RES}/store/{{split}}"),
    params:
        sample_rate=P["sample_rate"],
    threads: job_threads("prep", "a")
    resources:
        **job_resources("prep", "a"),
    conda:
        ENV
    log:
        f"{RES}/logs/stem_store_{{split}}.log",
    shell:
        "python -m mixlab store --root {input.corpus:q} --split {wildcards.split} --out {output:q}"
        " --sample-rate {params.sample_rate} > {log:q} 2>&1"
