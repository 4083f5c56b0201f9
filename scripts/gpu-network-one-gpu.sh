#!/usr/bin/env bash
# The network path at more ranks than GPUs: N processes on GPU 0, each a node of its own to NCCL (every peer through
# its socket transport). The same as scripts/gpu-network-nodes.sh with one GPU per node; its variables apply:
#   bash scripts/gpu-network-one-gpu.sh [world, default 4]
exec bash "$(dirname "$0")/gpu-network-nodes.sh" "${1:-4}" 1
