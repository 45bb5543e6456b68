# Paper B: MixIT pre-training on FMA (or the FMA-like synthetic corpus), channel selection,
# fine-tuning on the MUSDB-layout corpus, uSDR/cSDR, Tables 1-3 under results/<run>/mixit/.


M = P["mixit"]
MIXIT_ROWS = PLAN.mixit_rows()
PAPER_B = [f"{RES}/mixit/table{i}.{x}" for i in (1, 2, 3) for x in ("md", "csv", "tex")] + [f"{RES}/mixit/effects.md"]
# with released_root: the authors' released Table 1 and 3 models scored here, beside the paper's numbers
PAPER_B_RELEASED = [f"{RES}/mixit/released/table{i}.{x}" for i in (1, 3) for x in ("md", "csv")]
if P["released_root"]:
    PAPER_B += PAPER_B_RELEASED


rule fma_synth:
    output:
        directory(f"{RES}/corpus/fma"),
    params:
        spec=lambda w: json.dumps(PLAN.job_spec("fma-synth")),
    threads: job_threads("prep", "b")
    resources:
        **job_resources("prep", "b"),
    conda:
        ENV
    log:
        f"{RES}/logs/fma_synth.log",
    shell:
        "python -m mixlab fma-synth --out {output:q} --spec {params.spec:q} > {log:q} 2>&1"


rule fma_prep:
    input:
        root=lambda w: fma_source_root(w.subset),
    output:
        directory(f"{RES}/fma/{{subset}}"),
    params:
        spec=lambda w: json.dumps(PLAN.job_spec("fma-prep")),
    threads: job_threads("prep", "b")
    resources:
        **job_resources("prep", "b"),
    conda:
        ENV
    log:
        f"{RES}/logs/fma_prep/{{subset}}.log",
    shell:
        "python -m mixlab fma-prep --root {input.root:q} --subset {wildcards.subset} --out {output:q}"
        " --spec {params.spec:q} --workers {threads} > {log:q} 2>&1"


rule source_activity:
    input:
        store=f"{RES}/store/train",
    output:
        f"{RES}/mixit/activity.json",
    params:
        spec=lambda w: json.dumps(PLAN.job_spec("activity")),
    threads: job_threads("prep", "b")
    resources:
        **job_resources("prep", "b"),
    conda:
        ENV
    log:
        f"{RES}/logs/mixit/activity.log",
    shell:
        "python -m mixlab activity --store {input.store:q} --out {output:q} --spec {params.spec:q} > {log:q} 2>&1"


if P["mixit_pretrained"] == "released":

    rule import_released_pretrained:
        # the authors' MixIT model (12 outputs) instead of pre-training here; fine-tuning keeps the last
        # STFT frame like every mixlab training, so the import does too
        input:
            folder=lambda w: released_input(f"{w.size}_{w.subset}"),
        output:
            f"{RES}/mixit/pretrained/{{size}}_{{subset}}.pt",
        params:
            separate=json.dumps(PLAN.job_spec("separate", "mixit")),
        threads: job_threads("light", "b")
        resources:
            **job_resources("light", "b"),
        conda:
            ENV
        log:
            f"{RES}/logs/mixit/import/pretrained_{{size}}_{{subset}}.log",
        shell:
            "python -m mixlab import-checkpoint {input.folder:q} --out {output:q} --keep-last-frame"
            " --spec {params.separate:q} > {log:q} 2>&1"


else:

    rule pretrain_mixit:
        input:
            clips=f"{RES}/fma/{{subset}}",
        output:
            model=f"{RES}/mixit/pretrained/{{size}}_{{subset}}.pt",
            history=f"{RES}/mixit/pretrained/{{size}}_{{subset}}.history.csv",
        params:
            spec=lambda w: json.dumps(PLAN.mixit_pretrain_job(w.size, w.subset, RES)),
            resume=lambda w: f"{RES}/resume/mixit/pretrained/{w.size}_{w.subset}",
            device=job_device("train", "b"),
            threads=lambda w, threads: max(1, threads // max(1, job_class("train", "b")["gpu"])),
        threads: job_threads("train", "b")
        resources:
            **job_resources("train", "b"),
        conda:
            ENV
        log:
            f"{RES}/logs/mixit/pretrain/{{size}}_{{subset}}.log",
        shell:
            "python -m mixlab launch --gpus {resources.gpu} -- python -m mixlab train --spec {params.spec:q}"
            " --out {output.model:q} --resume-dir {params.resume:q} --device {params.device} --threads {params.threads}"
            " >> {log:q} 2>&1"


rule import_released:
    # the authors' fine-tuned model, exactly their function (input scaling, dropped last frame)
    input:
        folder=lambda w: released_input(w.model),
    output:
        f"{RES}/models/released/{{model}}.pt",
    params:
        separate=json.dumps(PLAN.job_spec("separate", "released")),
    threads: job_threads("light", "b")
    resources:
        **job_resources("light", "b"),
    conda:
        ENV
    log:
        f"{RES}/logs/mixit/import/{{model}}.log",
    shell:
        "python -m mixlab import-checkpoint {input.folder:q} --out {output:q} --spec {params.separate:q} > {log:q} 2>&1"


rule select_channels:
    input:
        model=f"{RES}/mixit/pretrained/{{size}}_{{subset}}.pt",
        store=f"{RES}/store/valid",
    output:
        f"{RES}/mixit/channels/{{size}}_{{subset}}.json",
    params:
        chunk=M["channel_chunk_seconds"],
        rule=M["channel_selection"],
        device=job_device("infer", "b"),
    threads: job_threads("infer", "b")
    resources:
        **job_resources("infer", "b"),
    conda:
        ENV
    log:
        f"{RES}/logs/mixit/channels/{{size}}_{{subset}}.log",
    shell:
        "python -m mixlab select-channels --model {input.model:q} --store {input.store:q} --chunk-seconds {params.chunk}"
        " --rule {params.rule} --out {output:q} --device {params.device} --threads {threads} > {log:q} 2>&1"


rule finetune_mixit:
    input:
        unpack(lambda w: PLAN.mixit_finetune_inputs(w.model, RES)),
    output:
        model=f"{RES}/models/mixit/{{model}}.pt",
        history=f"{RES}/models/mixit/{{model}}.history.csv",
    params:
        spec=lambda w: json.dumps(PLAN.mixit_finetune_job(w.model, RES)),
        resume=lambda w: f"{RES}/resume/mixit/{w.model}",
        device=job_device("train", "b"),
        threads=lambda w, threads: max(1, threads // max(1, job_class("train", "b")["gpu"])),
    threads: job_threads("train", "b")
    resources:
        **job_resources("train", "b"),
    conda:
        ENV
    log:
        f"{RES}/logs/mixit/finetune/{{model}}.log",
    shell:
        "python -m mixlab launch --gpus {resources.gpu} -- python -m mixlab train --spec {params.spec:q}"
        " --out {output.model:q} --resume-dir {params.resume:q} --device {params.device} --threads {params.threads}"
        " >> {log:q} 2>&1"


rule mixit_table:
    input:
        # row-major over the fine-tuning seeds: row 0's seeds first
        unpack(lambda w: PLAN.mixit_table_scores(w.table, RES)),
        crosscheck=crosscheck_input("mixit"),
    output:
        report(multiext(f"{RES}/mixit/{{table}}", ".md", ".csv", ".tex"), category="Paper B",
               caption="../report/mixit_table.rst"),
    params:
        rows=lambda w: json.dumps([labels for labels, _ in MIXIT_ROWS[w.table]]),
        seeds=["--seeds", *map(str, PLAN.mixit_seeds())] if len(PLAN.mixit_seeds()) > 1 else [],
        out=lambda w: f"{RES}/mixit/{w.table}.md",
        caption=PLAN.caption("mixit"),
    threads: job_threads("light", "b")
    resources:
        **job_resources("light", "b"),
    conda:
        ENV
    log:
        f"{RES}/logs/mixit/{{table}}.log",
    shell:
        "python -m mixlab mixit-table --rows {params.rows:q} {params.seeds:q} --csdr {input.csdr:q} --usdr {input.usdr:q}"
        " --out {params.out:q} --caption {params.caption:q} > {log:q} 2>&1"


rule effects_b:
    input:
        **{f"table{i}": f"{RES}/mixit/table{i}.csv" for i in (1, 2, 3)},
    output:
        f"{RES}/mixit/effects.md",
    params:
        caption=PLAN.caption("effects_b"),
    threads: job_threads("light", "b")
    resources:
        **job_resources("light", "b"),
    conda:
        ENV
    log:
        f"{RES}/logs/mixit/effects.log",
    shell:
        "python -m mixlab mixit-effects --table1 {input.table1:q} --table2 {input.table2:q} --table3 {input.table3:q}"
        " --out {output:q} --caption {params.caption:q} > {log:q} 2>&1"


rule released_table:
    input:
        csdr=lambda w: [f"{RES}/scores/test/released/{m}.csv" for _, m in MIXIT_ROWS[w.rtable]],
        usdr=lambda w: [f"{RES}/usdr/test/released/{m}.csv" for _, m in MIXIT_ROWS[w.rtable]],
        crosscheck=crosscheck_input("released"),
    output:
        report(multiext(f"{RES}/mixit/released/{{rtable}}", ".md", ".csv"), category="Paper B (released models)",
               caption="../report/mixit_table.rst"),
    params:
        rows=lambda w: json.dumps([labels for labels, _ in MIXIT_ROWS[w.rtable]]),
        models=lambda w: [m for _, m in MIXIT_ROWS[w.rtable]],
        published=lambda w: json.dumps(P["paper_b_published"]),
        out=lambda w: f"{RES}/mixit/released/{w.rtable}.md",
        caption=PLAN.caption("released"),
    threads: job_threads("light", "b")
    resources:
        **job_resources("light", "b"),
    conda:
        ENV
    log:
        f"{RES}/logs/mixit/released_{{rtable}}.log",
    shell:
        "python -m mixlab released-table --rows {params.rows:q} --models {params.models:q} --csdr {input.csdr:q}"
        " --usdr {input.usdr:q} --published {params.published:q} --out {params.out:q} --caption {params.caption:q}"
        " > {log:q} 2>&1"


rule paper_b_released:
    input:
        PAPER_B_RELEASED,
        shortcuts(PAPER_B_RELEASED),


rule paper_b:
    input:
        PAPER_B,
        shortcuts(PAPER_B),
