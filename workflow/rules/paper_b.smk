# Paper B: MixIT pre-training on FMA (or the FMA-like synthetic corpus), channel selection,
# fine-tuning on the MUSDB-layout corpus, uSDR/cSDR, Tables 1-3 under results/<run>/mixit/.


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
    threads: JOB["prep_b"].threads
    resources:
        **JOB["prep_b"].resources,
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
    threads: JOB["prep_b"].threads
    resources:
        **JOB["prep_b"].resources,
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
    threads: JOB["prep_b"].threads
    resources:
        **JOB["prep_b"].resources,
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
        threads: JOB["light_b"].threads
        resources:
            **JOB["light_b"].resources,
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
            device=JOB["train_b"].device,
            threads=lambda w, threads: JOB["train_b"].process_threads(threads),
        threads: JOB["train_b"].threads
        resources:
            **JOB["train_b"].resources,
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
    threads: JOB["light_b"].threads
    resources:
        **JOB["light_b"].resources,
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
        spec=json.dumps(PLAN.job_spec("select-channels")),
        device=JOB["infer_b"].device,
    threads: JOB["infer_b"].threads
    resources:
        **JOB["infer_b"].resources,
    conda:
        ENV
    log:
        f"{RES}/logs/mixit/channels/{{size}}_{{subset}}.log",
    shell:
        "python -m mixlab select-channels --model {input.model:q} --store {input.store:q} --spec {params.spec:q}"
        " --out {output:q} --device {params.device} --threads {threads} > {log:q} 2>&1"


rule finetune_mixit:
    input:
        unpack(lambda w: PLAN.mixit_finetune_inputs(w.model, RES)),
    output:
        model=f"{RES}/models/mixit/{{model}}.pt",
        history=f"{RES}/models/mixit/{{model}}.history.csv",
    params:
        spec=lambda w: json.dumps(PLAN.mixit_finetune_job(w.model, RES)),
        resume=lambda w: f"{RES}/resume/mixit/{w.model}",
        device=JOB["train_b"].device,
        threads=lambda w, threads: JOB["train_b"].process_threads(threads),
    threads: JOB["train_b"].threads
    resources:
        **JOB["train_b"].resources,
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
        unpack(lambda w: figure_inputs(f"mixit/{w.table}")),
        crosscheck=crosscheck_input("mixit"),
    output:
        report(multiext(f"{RES}/mixit/{{table}}", ".md", ".csv", ".tex"), category="Paper B",
               caption="../report/mixit_table.rst"),
    params:
        spec=lambda w: figure_spec(f"mixit/{w.table}"),
        out=lambda w: f"{RES}/mixit/{w.table}.md",
    threads: JOB["light_b"].threads
    resources:
        **JOB["light_b"].resources,
    conda:
        ENV
    log:
        f"{RES}/logs/mixit/{{table}}.log",
    shell:
        "python -m mixlab figure --spec {params.spec:q} --out {params.out:q} > {log:q} 2>&1"


rule effects_b:
    input:
        **figure_inputs("mixit/effects"),
    output:
        f"{RES}/mixit/effects.md",
    params:
        spec=figure_spec("mixit/effects"),
    threads: JOB["light_b"].threads
    resources:
        **JOB["light_b"].resources,
    conda:
        ENV
    log:
        f"{RES}/logs/mixit/effects.log",
    shell:
        "python -m mixlab figure --spec {params.spec:q} --out {output:q} > {log:q} 2>&1"


rule released_table:
    input:
        unpack(lambda w: figure_inputs(f"mixit/released/{w.rtable}")),
        crosscheck=crosscheck_input("released"),
    output:
        report(multiext(f"{RES}/mixit/released/{{rtable}}", ".md", ".csv"), category="Paper B (released models)",
               caption="../report/mixit_table.rst"),
    params:
        spec=lambda w: figure_spec(f"mixit/released/{w.rtable}"),
        out=lambda w: f"{RES}/mixit/released/{w.rtable}.md",
    threads: JOB["light_b"].threads
    resources:
        **JOB["light_b"].resources,
    conda:
        ENV
    log:
        f"{RES}/logs/mixit/released_{{rtable}}.log",
    shell:
        "python -m mixlab figure --spec {params.spec:q} --out {params.out:q} > {log:q} 2>&1"


rule paper_b_released:
    input:
        PAPER_B_RELEASED,
        shortcuts(PAPER_B_RELEASED),


rule paper_b:
    input:
        PAPER_B,
        shortcuts(PAPER_B),
