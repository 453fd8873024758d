"""The call engine: one clock (the board), calls and legs over any channel kind, batched media per tick,
and IVR coroutines scheduled deterministically on that clock."""
