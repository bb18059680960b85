import { StrictMode, useCallback, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { ErrorBoundary } from "react-error-boundary";
import { OrderList, type Order } from "./OrderList";
import { config } from "./config";

// App.tsx and main.tsx as the team writes them: none of the five patterns.
export function FixedApp() {
  const [orders, setOrders] = useState<Order[]>([]);

  useEffect(() => {
    const load = async () => {
      const response = await fetch(`${config.apiUrl}/orders`);
      const body: { orders: Order[] } = await response.json();
      setOrders(body.orders);
    };
    void load();
  }, []);

  const select = useCallback((order: Order) => console.log(order.id), []);
  return <OrderList orders={orders} onSelect={select} />;
}

export function mount(element: HTMLElement) {
  createRoot(element).render(
    <StrictMode>
      <ErrorBoundary fallback={<p role="alert">Something went wrong.</p>}>
        <FixedApp />
      </ErrorBoundary>
    </StrictMode>,
  );
}
