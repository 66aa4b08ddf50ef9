//! A replay's candidates in rank order, in blocks that know their shortest clip, so that the
//! walk under a duration budget can pass over a whole block of clips too long for what is left
//! ([`crate::selection::within_budget`]) instead of looking at each of them.
//!
//! Blocks hold at most 32 candidates, sorted, and cover the rank order one after the
//! other; an insert or a removal touches one block (splitting it when full, dropping it when
//! empty). A walk that fills the budget early and then looks for a clip short enough for the
//! rest visits the blocks, not the candidates, so its work grows with the number of blocks
//! (the candidates divided by the block size) and the clips it takes.

/// The most candidates a block holds.
const BLOCK: usize = 32;

/// A candidate's place in the rank order, with its clip: `(rank key, clip start, clip end)`,
/// ordered by the rank key alone in practice (keys are distinct).
pub trait Ranked: Ord + Copy {
    /// The clip's duration in milliseconds.
    fn duration_ms(&self) -> u64;
}

#[derive(Debug)]
struct Block<R> {
    /// Sorted.
    items: Vec<R>,
    shortest_ms: u64,
}

impl<R: Ranked> Block<R> {
    fn new(items: Vec<R>) -> Block<R> {
        let shortest_ms = items.iter().map(Ranked::duration_ms).min().unwrap_or(u64::MAX);
        Block { items, shortest_ms }
    }
}

/// Candidates in rank order (see the module documentation).
#[derive(Debug)]
pub struct RankedBlocks<R> {
    blocks: Vec<Block<R>>,
}

impl<R> Default for RankedBlocks<R> {
    fn default() -> Self {
        RankedBlocks { blocks: Vec::new() }
    }
}

impl<R: Ranked> RankedBlocks<R> {
    /// The block `item` belongs in: the first whose last item is not below it (the last block
    /// when it is above them all).
    fn block_of(&self, item: &R) -> usize {
        let index = self.blocks.partition_point(|b| b.items.last().is_some_and(|last| last < item));
        index.min(self.blocks.len().saturating_sub(1))
    }

    /// Adds a candidate.
    pub fn insert(&mut self, item: R) {
        if self.blocks.is_empty() {
            self.blocks.push(Block::new(vec![item]));
            return;
        }
        let index = self.block_of(&item);
        let block = &mut self.blocks[index];
        let at = block.items.partition_point(|x| *x < item);
        block.items.insert(at, item);
        block.shortest_ms = block.shortest_ms.min(item.duration_ms());
        if block.items.len() > BLOCK {
            let upper = block.items.split_off(BLOCK / 2);
            let lower = std::mem::take(&mut block.items);
            self.blocks[index] = Block::new(lower);
            self.blocks.insert(index + 1, Block::new(upper));
        }
    }

    /// Removes a candidate; returns whether it was there.
    pub fn remove(&mut self, item: &R) -> bool {
        if self.blocks.is_empty() {
            return false;
        }
        let index = self.block_of(item);
        let block = &mut self.blocks[index];
        let Ok(at) = block.items.binary_search(item) else { return false };
        block.items.remove(at);
        if block.items.is_empty() {
            self.blocks.remove(index);
        } else if item.duration_ms() == block.shortest_ms {
            block.shortest_ms =
                block.items.iter().map(Ranked::duration_ms).min().unwrap_or(u64::MAX);
        }
        true
    }

    /// Every candidate, in rank order.
    pub fn iter(&self) -> impl Iterator<Item = &R> + Clone {
        self.blocks.iter().flat_map(|block| &block.items)
    }

    /// The blocks in rank order, each as its shortest clip and its candidates.
    pub fn runs(&self) -> impl Iterator<Item = (u64, &[R])> {
        self.blocks.iter().map(|block| (block.shortest_ms, &block.items[..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A candidate for the tests: (rank, duration).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
    struct Item(u32, u64);

    impl Ranked for Item {
        fn duration_ms(&self) -> u64 {
            self.1
        }
    }

    #[test]
    fn keeps_the_rank_order_and_each_blocks_shortest_clip_through_inserts_and_removals() {
        let mut ranked = RankedBlocks::default();
        // A scrambled order of 500 ranks, with durations that repeat.
        let items: Vec<Item> =
            (0..500u32).map(|i| Item((i * 7919) % 500, u64::from(i % 37) + 1)).collect();
        for item in &items {
            ranked.insert(*item);
        }
        for item in items.iter().filter(|item| item.0 % 3 == 0) {
            assert!(ranked.remove(item));
        }
        assert!(!ranked.remove(&Item(3, 1)), "removed already");
        let mut kept: Vec<Item> = items.iter().filter(|item| item.0 % 3 != 0).copied().collect();
        kept.sort();
        assert_eq!(ranked.iter().copied().collect::<Vec<_>>(), kept);
        for (shortest, run) in ranked.runs() {
            assert!(!run.is_empty() && run.len() <= BLOCK);
            assert_eq!(shortest, run.iter().map(|item| item.1).min().unwrap());
        }
        assert!(ranked.runs().count() < kept.len() / 8, "blocks, not single candidates");
    }
}
