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
