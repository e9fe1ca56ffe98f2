#include "common/event.h"

namespace streamrec {

std::string_view EventTypeName(EventType type) {
  switch (type) {
    case EventType::kView:
      return "view";
    case EventType::kClick:
      return "click";
    case EventType::kAddToCart:
      return "add_to_cart";
    case EventType::kPurchase:
      return "purchase";
  }
  return "?";
}

std::optional<EventType> ParseEventType(std::string_view name) {
  if (name == "view") return EventType::kView;
  if (name == "click") return EventType::kClick;
  if (name == "add_to_cart") return EventType::kAddToCart;
  if (name == "purchase") return EventType::kPurchase;
  return std::nullopt;
}

}  // namespace streamrec
