// Nodes of small chains kept in one std::vector, with the free nodes threaded through their
// `next` field (the partition fold's claims and set members, the partition view's pairs): a chain
// costs a 4-byte head and taking or giving back a node allocates nothing once the vector has
// grown.
//
//   std::vector<Node> nodes;            // Node has a uint32_t `next`
//   uint32_t free = kNoNode;
//   uint32_t n = take_node(&nodes, &free, Node{...});   // a free node, or a new one
//   give_node(&nodes, &free, n);                        // n's `next` now links the free list
//
// Pure code: no I/O.
#ifndef BEL_PROJECTIONS_FREE_NODES_H_
#define BEL_PROJECTIONS_FREE_NODES_H_

#include <cstdint>
#include <limits>
#include <vector>

namespace bel::projections {

// The end of a chain, and an empty free list.
inline constexpr uint32_t kNoNode = std::numeric_limits<uint32_t>::max();

// Places `value` in the first free node of `*nodes` (the list starting at `*free`), or in a new
// one, and returns its index.
template <class Node>
uint32_t take_node(std::vector<Node>* nodes, uint32_t* free, const Node& value) {
  const uint32_t node = *free;
  if (node == kNoNode) {
    nodes->push_back(value);
    return static_cast<uint32_t>(nodes->size() - 1);
  }
  *free = (*nodes)[node].next;
  (*nodes)[node] = value;
  return node;
}

// Puts `node` at the head of the free list `*free`.
template <class Node>
void give_node(std::vector<Node>* nodes, uint32_t* free, uint32_t node) {
  (*nodes)[node].next = *free;
  *free = node;
}

}  // namespace bel::projections

#endif  // BEL_PROJECTIONS_FREE_NODES_H_
