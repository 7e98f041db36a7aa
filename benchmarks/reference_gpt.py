"""A minimal, plain PyTorch GPT used only as the speed/quality yardstick for benchmarks/gpt_char.py.

Deliberately bare: no input checks, no cache, one fused attention call. Same architecture as the book's
`aigc_book.models.gpt.GPT` (pre-norm blocks, GELU MLP, tied embeddings, learned positions).
"""
import math
import torch
from torch import nn
import torch.nn.functional as F


class RefBlock(nn.Module):
    def __init__(self, d, n_head, bias):
        super().__init__()
        self.n_head = n_head
        self.ln1, self.ln2 = nn.LayerNorm(d, bias=bias), nn.LayerNorm(d, bias=bias)
        self.qkv, self.out = nn.Linear(d, 3 * d, bias=bias), nn.Linear(d, d, bias=bias)
        self.fc, self.proj = nn.Linear(d, 4 * d, bias=bias), nn.Linear(4 * d, d, bias=bias)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(B, T, 3, self.n_head, C // self.n_head).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, C)
        x = x + self.out(a)
        return x + self.proj(F.gelu(self.fc(self.ln2(x))))


class RefGPT(nn.Module):
    def __init__(self, vocab_size, block_size, n_layer, n_head, n_embd, bias=False):
        super().__init__()
        self.block_size = block_size
        self.tok, self.pos = nn.Embedding(vocab_size, n_embd), nn.Embedding(block_size, n_embd)
        self.blocks = nn.Sequential(*[RefBlock(n_embd, n_head, bias) for _ in range(n_layer)])
        self.ln = nn.LayerNorm(n_embd, bias=bias)
        self.head = nn.Linear(n_embd, vocab_size, bias=False)
        self.head.weight = self.tok.weight
        for name, p in self.named_parameters():
            if p.dim() >= 2: nn.init.normal_(p, 0, 0.02 / math.sqrt(2 * n_layer) if name.endswith(("out.weight", "proj.weight")) else 0.02)
            elif name.endswith("bias"): nn.init.zeros_(p)

    def forward(self, idx, targets=None):
        T = idx.shape[1]
        x = self.tok(idx) + self.pos(torch.arange(T, device=idx.device))
        logits = self.head(self.ln(self.blocks(x)))
        loss = None if targets is None else F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss

    @torch.no_grad()
    def generate(self, idx, n, generator=None):
        for _ in range(n):
            logits = self(idx[:, -self.block_size:])[0][:, -1]
            idx = torch.cat([idx, torch.multinomial(F.softmax(logits, -1), 1, generator=generator)], 1)
        return idx
