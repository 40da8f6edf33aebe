"""Live training for the training page: runs in a bounded pool of trainer processes, steered from the server.

One idea per module:
- ``history``: bounded loss history, growable rows, curves reduced for drawing
- ``messages``: what the controller and the training process say to each other (declared once)
- ``process``: one run's training loop (``TrainingProcess``: Trainer.step, evaluation chunks, checkpoints)
- ``worker``: a trainer process hosting many runs by time-slicing; ``spawn``: starting one
- ``pool``: at most K trainer processes per server, the server-wide queue, memory budget and load
- ``shared``: the data sets as memory-mapped files, one copy for every process
- ``budget``: what a run would cost, refused before it starts if over the limits
- ``run``: ``LiveRun``, the controller of one run; ``records``: its Snapshot and RunRecord
- ``lab``: a browser session's bench (``Lab``) and ``SessionGuard``
- ``allocator``: freed memory goes back to the OS (glibc's mmap threshold, malloc_trim)
- ``exports``: history CSV, weights .npz and the weights-file loader
- ``knobs``: the page's knobs <-> TrainConfig, reproduce links; ``compare``: labels and the runs table
Nothing here imports streamlit.
"""
from .allocator import tune as tune_allocator
from .compare import describe, distinguishing_fields, runs_table
from .exports import MAX_WEIGHTS_BYTES, WeightsError, history_csv, load_weights, weights_npz
from .history import MAX_POINTS, Curve, LossHistory, Rows, downsample, ema, loss_curve, smooth
from .knobs import (KNOBS, config_from_knobs, config_from_query, config_query, convert_length, knobs_from_config,
                    reproduce_link)
from .budget import check as check_budget
from .lab import SERVER_START, Lab, SessionGuard, run_token, run_from_earlier_server
from .pool import TrainerPool, default_pool
from .messages import FINISHED, PAUSED, READY, RUNNING, STOPPED, Divergence, ErrorInfo
from .records import LOADED, Adjustment, RunRecord, Snapshot
from .run import LiveRun, RunError
