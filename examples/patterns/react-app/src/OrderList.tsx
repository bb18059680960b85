import { memo } from "react";

export interface Order {
  id: string;
  total: number;
}

interface Props {
  orders: Order[];
  onSelect: (order: Order) => void;
}

// Written the way the team wants it: no finding in this file. Inline handlers on DOM
// elements are fine; only components get the handler by name.
export const OrderList = memo(function OrderList({ orders, onSelect }: Props) {
  return (
    <ul>
      {orders.map((order) => (
        <li key={order.id} onClick={() => onSelect(order)}>
          {order.id}: {order.total.toFixed(2)}
        </li>
      ))}
    </ul>
  );
});
