import { useEffect, useState } from "react";
import { OrderList, type Order } from "./OrderList";

export function App() {
  const [orders, setOrders] = useState<Order[]>([]);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    // hardcoded-url and then-chain
    fetch("https://api.example.com/v1/orders")
      .then((response) => response.json())
      .then((body: any) => setOrders(body.orders))
      .catch((reason) => setError(String(reason)));
  }, []);

  if (error) {
    return <p role="alert">{error}</p>;
  }
  // inline-handler-prop: a new function on every render re-renders OrderList.
  return <OrderList orders={orders} onSelect={(order) => console.log(order.id)} />;
}
